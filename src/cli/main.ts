#!/usr/bin/env node
/** The `galmorph` command: a thin shell over the library (parse, call, print, exit code). */
import { runCli } from './program.js';

process.exitCode = await runCli(process.argv);
