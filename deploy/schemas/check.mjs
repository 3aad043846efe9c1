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

// Per API group: the schema package, and the versions the operator release pinned in deploy/versions.env serves. A
// resource in any other version fails, even where the package still carries that version's schema (it carries
// Strimzi's v1beta2, which Strimzi 1.0 no longer serves).
const GROUPS = {
  "kafka.strimzi.io": { pkg: "@kubernetes-models/strimzi-kafka-operator", served: ["v1"] },
  "keda.sh": { pkg: "@kubernetes-models/keda", served: ["v1alpha1"] },
  "monitoring.coreos.com": { pkg: "@kubernetes-models/prometheus-operator", served: ["v1", "v1alpha1"] },
  "gateway.networking.k8s.io": { pkg: "@kubernetes-models/gateway-api", served: ["v1"] },
  "gateway.envoyproxy.io": { pkg: "@kubernetes-models/envoy-gateway", served: ["v1alpha1"] },
  "cert-manager.io": { pkg: "@kubernetes-models/cert-manager", served: ["v1"] },
};
const here = dirname(fileURLToPath(import.meta.url));
const docs = JSON.parse(readFileSync(process.argv[2], "utf8"));
const problems = [];
const typed = [];

for (const [i, doc] of docs.entries()) {
  const [group, version] = doc.apiVersion.split("/");
  const name = `${doc.kind}/${doc.metadata?.name}`;
  const known = GROUPS[group];
  if (!known) {
    problems.push({ name, error: `no schema package for API group ${group}` });
    continue;
  }
  if (!known.served.includes(version)) {
    problems.push({ name, error: `${doc.apiVersion} is not served by the pinned operator (serves ${known.served.join(", ")})` });
    continue;
  }
  const pkg = known.pkg;
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
