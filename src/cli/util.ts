/** Small helpers shared by the command modules. */
import { InvalidArgumentError } from 'commander';

/** Commander argument parser for integers, so `--n ten` fails with the flag named. */
export const int = (value: string): number => {
  if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError(`expected an integer, got "${value}"`);
  return Number(value);
};

/** Commander argument parser for finite numbers. */
export const num = (value: string): number => {
  const v = Number(value);
  if (value.trim() === '' || !Number.isFinite(v)) throw new InvalidArgumentError(`expected a number, got "${value}"`);
  return v;
};

/** Status messages go to stderr so stdout stays clean for data. */
export const log = (msg: string): void => {
  process.stderr.write(msg + '\n');
};
