// Compiles a batch of AssemblyScript plugins in one node process, through
// asc's own API (the same as the `asc` command). Loading asc and binaryen
// takes about 3 s per process; each plugin then takes under 1 s, so one
// process for the batch instead of one per plugin is 4x less CPU.
//
// Run by xtask/src/lang/assemblyscript.rs as
//   node --input-type=module -e <this file> <asc.js> <jobs as JSON>
// from plugins-assemblyscript/; a job is {"spec": "...", "args": [...asc flags]}.
// Prints one JSON line per job, in order: {"spec", "ok", "output"}, where
// output is what asc wrote (its diagnostics) and ok says asc reported no error.
import { pathToFileURL } from "node:url";

const [ascPath, jobs] = process.argv.slice(1);
const asc = (await import(pathToFileURL(ascPath).href)).default;
for (const job of JSON.parse(jobs)) {
  let answer;
  try {
    const { error, stdout, stderr } = await asc.main(job.args);
    const output = `${stdout.toString()}${stderr.toString()}`;
    answer = { spec: job.spec, ok: !error, output: error && !output ? String(error) : output };
  } catch (e) {
    answer = { spec: job.spec, ok: false, output: String(e?.stack ?? e) };
  }
  process.stdout.write(`${JSON.stringify(answer)}\n`);
}
