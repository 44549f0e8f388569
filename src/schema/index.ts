export * from './schema.js';
export * from './builtin.js';
export * from './summary.js';
