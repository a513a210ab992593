// Kusto.Language (Microsoft's KQL parser and binder) on the queries given on stdin, against the tables given with
// them: for each query its diagnostics, the string literals it compares a column with, and its extract() patterns.
// Run by tests/kql.py with the package folder as its argument.
const folder = process.argv[2];
global.Bridge = require(`${folder}/bridge.min.js`);
require(`${folder}/Kusto.Language.Bridge.min.js`);
const K = Kusto.Language, S = K.Symbols, Syn = K.Syntax;

const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const tables = Object.entries(input.tables).map(([name, columns]) =>
  new S.TableSymbol.$ctor7(name, `(${Object.entries(columns).map(([c, t]) => `${c}:${t}`).join(", ")})`, ""));
const globals = K.GlobalState.Default.WithDatabase(new S.DatabaseSymbol.ctor("appinsights", tables));
const kindOf = (element) => System.Enum.toString(Syn.SyntaxKind, element.Kind);

function literals(element) {
  const found = [];
  element.WalkElements((e) => { if (kindOf(e) === "StringLiteralExpression") found.push(e.LiteralValue); });
  return found;
}

const results = input.queries.map((query) => {
  const code = K.KustoCode.ParseAndAnalyze(query, globals);
  const list = code.GetDiagnostics();
  const diagnostics = [];
  for (let i = 0; i < list.Count; i++) {
    const d = list.getItem(i);
    diagnostics.push({ severity: d.Severity, message: d.Message, at: query.substr(d.Start, Math.max(d.Length, 1)) });
  }
  const comparisons = [], extracts = [];
  code.Syntax.WalkElements((e) => {
    const kind = kindOf(e);
    if (kind === "FunctionCallExpression" && e.Name.SimpleName === "extract") {
      extracts.push(...literals(e.ArgumentList.Expressions.getItem(0).Element));
    } else if (e.Left && e.Right && /Expression$/.test(kind) && !/^(And|Or)Expression$/.test(kind)) {
      const values = literals(e.Right);
      if (values.length) comparisons.push({ op: kind, left: e.Left.toString().trim(), values });
    }
  });
  return { diagnostics, comparisons, extracts };
});
process.stdout.write(JSON.stringify(results));
