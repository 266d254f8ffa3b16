// The ES module AcWing imports. It loads the wasm relative to its own URL,
// because inside the AcApp window relative URLs resolve against acwing.com.
import init, { AcGame as Inner } from "./frontend.js";

await init({ module_or_path: new URL("./frontend_bg.wasm", import.meta.url) });

export class AcGame {
  constructor(id, AcWingOS) {
    this.inner = new Inner(id, AcWingOS ?? null);
  }
}
