// Remove shared memory and high-resolution timing primitives (Spectre-class side channels) and
// WebAssembly (not part of the function contract).
delete globalThis.SharedArrayBuffer;
delete globalThis.Atomics;
delete globalThis.WebAssembly;
// whatwg-fetch installs a global `fetch` built on XMLHttpRequest. Network access is a
// capability granted per function (an egress binding), never an ambient global.
delete globalThis.fetch;
// Names the polyfills needed only while they loaded: `global` (Node's name) and core-js's
// mutable shared store. `self` stays: it is the Web name of the global object.
delete globalThis.global;
delete globalThis['__core-js_shared__'];
// Built-ins that newer V8 versions add (Node 24) and Node 20's lacks: removed so that a function
// sees the same documented globals on every supported Node, and a function tested on one runs
// the same on the other. A new engine built-in fails the globals test until it is listed or removed.
delete globalThis.AsyncDisposableStack;
delete globalThis.DisposableStack;
delete globalThis.Float16Array;
delete globalThis.Iterator;
delete globalThis.SuppressedError;
