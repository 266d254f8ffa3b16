// The ES module AcWing imports. Inside the AcApp window relative URLs
// resolve against acwing.com, so the wasm and every API call use our own
// origin, taken from this module's URL.
import init, { AcGame as Inner } from "./frontend.js";

await init({ module_or_path: new URL("./frontend_bg.wasm", import.meta.url) });

const apiOrigin = new URL(import.meta.url).origin;

export class AcGame {
  constructor(id, AcWingOS) {
    this.inner = new Inner(id, AcWingOS ?? null, apiOrigin);
  }
}
