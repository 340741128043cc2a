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
