#!/usr/bin/env node
// The vor-power CLI. Runs on Node 22 through the project's node devDependency (type stripping, no
// build step). Only this file exits the process.
import { runCli } from "./cli/program.ts";

const code = await runCli(process.argv.slice(2), {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  now: () => new Date(),
  progress: (text) => process.stderr.write(`\r${text.padEnd(60)}${text === "" ? "\r" : ""}`),
  isTerminal: process.stderr.isTTY,
  env: process.env,
});
process.exitCode = code;
