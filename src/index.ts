/**
 * galmorph library API. Hand-curated: everything a user can import is listed here.
 */
export * from './errors.js';
export * from './schema/index.js';
