// The module AcWing imports (its URL never changes). No static imports: it
// runs as soon as it arrives and shows a loading card before anything else.
// `cargo xtask dist` gives these two names a content hash.
const GLUE = "./frontend.js";
const WASM = "./frontend_bg.wasm";

// Inside the AcApp relative URLs would resolve against www.acwing.com.
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
// module): a panic traps one window, never its neighbours.
let instances = 0;
function glue() {
  instances += 1;
  return import(instances === 1 ? here(GLUE) : `${here(GLUE)}?instance=${instances}`);
}

// The app's landmark and heading (static markup only).
function card(root, ...children) {
  root.innerHTML =
    '<main class="acwl-app"><div class="acwl-card"><h1 class="acwl-title">AcApp</h1></div></main>';
  root.querySelector(".acwl-card").append(...children);
}

function element(tag, className, data, text, role) {
  const node = document.createElement(tag);
  node.className = className;
  node.dataset.acwl = data;
  node.textContent = text;
  if (role) node.setAttribute("role", role);
  return node;
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
    // The app's first request (the AcApp authorizes at once, the web asks
    // who we are) goes out while the wasm loads; the app takes its answer.
    this.first?.abort();
    this.first = new AbortController();
    const path = this.os ? "/settings/acwing/acapp/apply_code/" : "/settings/getinfo/";
    const response = fetch(apiBase + path, { signal: this.first.signal });
    response.catch(() => {}); // the app reports a failure
    Promise.all([glue(), compile()])
      .then(async ([module, wasm]) => {
        if (this.ended) return;
        await module.default({ module_or_path: wasm });
        if (this.ended) return;
        this.root.replaceChildren();
        this.inner = new module.AcGame(this.root, this.os, apiBase, { path, response });
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
    // Not when focus is elsewhere in AcWing's page.
    const active = document.activeElement;
    if (!active || active === document.body || this.root.contains(active)) retry.focus();
  }

  // Ends the app for good: no request, timer or answer after this, and
  // nothing of ours left in the root (a loading or retry card included).
  destroy() {
    this.ended = true;
    this.first?.abort();
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
