// Drive solc-js with standard JSON: input on stdin, output on stdout.
// Usage: node solc_driver.js <compiler-package> <node_modules> [<source-root> ...]
// Imports resolve against each source root, then node_modules.
'use strict';
const fs = require('fs');
const path = require('path');

const [, , compilerPackage, nodeModules, ...roots] = process.argv;
const solc = require(path.join(path.resolve(nodeModules), compilerPackage));
const searchPath = [...roots, nodeModules].map((p) => path.resolve(p));

function findImports(importPath) {
  for (const base of searchPath) {
    const candidate = path.join(base, importPath);
    if (candidate.startsWith(base) && fs.existsSync(candidate)) {
      return { contents: fs.readFileSync(candidate, 'utf8') };
    }
  }
  return { error: `File not found: ${importPath} (looked under ${searchPath.join(', ')})` };
}

const input = fs.readFileSync(0, 'utf8');
const output = Buffer.from(solc.compile(input, { import: findImports }), 'utf8');
// process.stdout.write followed by exit can cut a large pipe write short: write synchronously in a loop.
let offset = 0;
while (offset < output.length) {
  try {
    offset += fs.writeSync(1, output, offset, output.length - offset);
  } catch (err) {
    if (err.code !== 'EAGAIN') throw err;
  }
}
