// The ES module AcWing imports (its URL is registered with AcWing and never
// changes). It must show something at once: it has no static imports, so
// the browser runs it as soon as this small file arrives, and the
// constructor writes a plain-DOM loading state before anything else loads.
//
// Everything it loads has a content hash in its name: `cargo xtask dist`
// rewrites the two names below (trunk's dev loop keeps them as they are).
const GLUE = "./frontend.js";
const WASM = "./frontend_bg.wasm";

// Inside the AcApp window relative URLs resolve against www.acwing.com:
// resolve ours against this module instead, and send API calls to the
// folder above it (our site root, path prefix included).
const here = (name) => new URL(name, import.meta.url).href;
const apiBase = here("..").replace(/\/$/, "");

// The wasm is downloaded and compiled once for the page…
let compiled = null;
function compile() {
  compiled ??= (async () => {
    const response = await fetch(here(WASM), { credentials: "omit" });
    if (!response.ok) throw new Error(`wasm: HTTP ${response.status}`);
    return WebAssembly.compileStreaming
      ? WebAssembly.compileStreaming(response)
      : WebAssembly.compile(await response.arrayBuffer());
  })().catch((err) => {
    compiled = null; // a retry downloads again
    throw err;
  });
  return compiled;
}

// …but every AcGame gets its own instance (a distinct URL is a distinct
// module, with its own memory). The bundle aborts on panic, which traps
// an instance: this way it traps one window, never its neighbours.
let instances = 0;
function glue() {
  instances += 1;
  return import(instances === 1 ? here(GLUE) : `${here(GLUE)}?instance=${instances}`);
}

// The same landmark and heading as the app's own screens.
function card(root, ...children) {
  const app = document.createElement("main");
  app.className = "acwl-app";
  const box = document.createElement("div");
  box.className = "acwl-card";
  const title = document.createElement("h1");
  title.className = "acwl-title";
  title.textContent = "AcApp";
  box.append(title, ...children);
  app.append(box);
  root.replaceChildren(app);
  return box;
}

function element(tag, className, data, text, role) {
  const node = document.createElement(tag);
  node.className = className;
  node.dataset.acwl = data;
  node.textContent = text;
  if (role) node.setAttribute("role", role);
  return node;
}

// Focus moves only when it is in this window already, or nowhere: the
// app is a guest in AcWing's page.
function focusIfOurs(root, node) {
  const active = document.activeElement;
  if (!active || active === document.body || root.contains(active)) node.focus();
}

export class AcGame {
  constructor(id, AcWingOS) {
    performance.mark("acapp:new-acgame"); // read by `cargo xtask bench`
    this.root = document.getElementById(id);
    if (!this.root) throw new Error(`AcGame: no element with id "${id}"`);
    this.os = AcWingOS ?? null;
    this.ended = false;
    this.inner = null;
    this.root.classList.add("acwl-root");
    this.lang = this.root.getAttribute("lang");
    this.root.setAttribute("lang", "zh-CN");
    try {
      // Closing the window ends the app, even while it is still loading.
      this.os?.api?.window?.on_close?.(() => this.destroy());
    } catch (err) {
      console.error("AcGame: on_close", err);
    }
    this.start();
  }

  // Also the retry button's handler: after destroy() it does nothing.
  start() {
    if (this.ended) return;
    card(this.root, element("p", "acwl-status", "loading", "加载中…", "status"));
    Promise.all([glue(), compile()])
      .then(async ([module, wasm]) => {
        if (this.ended) return;
        await module.default({ module_or_path: wasm });
        if (this.ended) return;
        this.root.replaceChildren();
        this.inner = new module.AcGame(this.root, this.os, apiBase);
      })
      .catch((err) => {
        console.error("AcGame: loading failed", err);
        if (!this.ended) this.failed();
      });
  }

  failed() {
    const retry = element("button", "acwl-button", "retry", "重试");
    retry.onclick = () => this.start();
    card(
      this.root,
      element("p", "acwl-error", "load-error", "游戏加载失败，请检查网络后重试。", "alert"),
      retry,
    );
    focusIfOurs(this.root, retry);
  }

  // Ends the app for good: no request, timer or answer after this, and
  // nothing of ours left in the root (a loading or retry card included).
  destroy() {
    this.ended = true;
    const inner = this.inner;
    this.inner = null;
    try {
      inner?.destroy();
      inner?.free();
    } catch (err) {
      console.error("AcGame: destroy", err);
    }
    this.root.replaceChildren();
    this.root.classList.remove("acwl-root");
    if (this.lang === null) this.root.removeAttribute("lang");
    else this.root.setAttribute("lang", this.lang);
  }
}
