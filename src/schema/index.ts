export * from './schema.js';
export * from './builtin.js';
