// Check custom resources against their operators' published schemas (the packages pinned in package.json).
//
//   node deploy/schemas/check.mjs resources.json     # a JSON array of resources; prints a JSON array of problems
//
// Two passes, because the packages carry each CRD's OpenAPI schema twice: compiled JSON-schema validators
// (types, required fields, enums, patterns, integer ranges) and TypeScript interfaces, whose excess-property
// check is what catches a misspelt field name (the validators, like the API server, allow unknown fields and
// the server would silently prune them).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const PACKAGES = {
  "kafka.strimzi.io": "@kubernetes-models/strimzi-kafka-operator",
  "keda.sh": "@kubernetes-models/keda",
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
};
const here = dirname(fileURLToPath(import.meta.url));
const docs = JSON.parse(readFileSync(process.argv[2], "utf8"));
const problems = [];
const typed = [];

for (const [i, doc] of docs.entries()) {
  const [group, version] = doc.apiVersion.split("/");
  const name = `${doc.kind}/${doc.metadata?.name}`;
  const pkg = PACKAGES[group];
  if (!pkg) {
    problems.push({ name, error: `no schema package for API group ${group}` });
    continue;
  }
  const module = `${pkg}/${group}/${version}/${doc.kind}`;
  let Model;
  try {
    Model = (await import(module))[doc.kind];
  } catch {
    problems.push({ name, error: `no schema for ${doc.apiVersion} ${doc.kind} in ${pkg}` });
    continue;
  }
  try {
    new Model(doc).validate();
  } catch (e) {
    problems.push({ name, error: String(e.message ?? e) });
  }
  typed.push({ i, name, module, kind: doc.kind, doc });
}

// One TypeScript file with one typed constant per resource, compiled in place so imports resolve here.
const dir = mkdtempSync(join(here, ".check-"));
try {
  const file = join(dir, "resources.ts");
  writeFileSync(file, typed.map(({ i, module, kind, doc }) =>
    `import type { I${kind} as T${i} } from "${module}";\nexport const r${i}: T${i} = ${JSON.stringify(doc)};`,
  ).join("\n"));
  const program = ts.createProgram([file], {
    noEmit: true, strict: true, skipLibCheck: true,
    module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
  });
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const line = d.file ? d.file.getLineAndCharacterOfPosition(d.start ?? 0).line : -1;
    const owner = typed[Math.floor(line / 2)];
    problems.push({ name: owner ? owner.name : "?", error: ts.flattenDiagnosticMessageText(d.messageText, "\n") });
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify({ checked: typed.map((t) => t.name), problems }));
