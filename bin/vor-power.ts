#!/usr/bin/env node
// The vor-power CLI. Runs on Node 22 through the project's node devDependency (type stripping, no
// build step). Only this file exits the process.
import { runCli } from "./cli/program.ts";

const code = await runCli(process.argv.slice(2), {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  now: () => new Date(),
});
process.exitCode = code;
