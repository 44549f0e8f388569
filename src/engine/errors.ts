import { GalmorphError } from '../errors.js';

/** The compute engine cannot run what was asked (unsupported backend, kernel attributes). */
export class EngineError extends GalmorphError {}
