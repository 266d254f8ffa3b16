// The simulated AcWing page around AcApp windows: a window per app
// instance, each with its own AcWingOS, and one consent dialog.
//
// What an authorization does (the checks, a scenario, the code, the URL to
// request) is the simulator's to decide: this page asks it with
// POST /__sim/window/authorize and /decide, shows the dialog when told to,
// and then either hands an answer to the app's callback or requests the
// app's redirect_uri and hands over what that answered.
const config = JSON.parse(document.getElementById("sim-config").textContent);
const byId = (id) => document.getElementById(id);
byId("reject-style").value = config.reject;
byId("delivery").value = config.delivery;

// What tests inspect: every answer handed to a callback, each window's
// AcWingOS, the callbacks of dismissed dialogs (never called by AcWing, a
// test may call one late), how often authorize ran, and when each window
// first showed anything.
window.simCallbacks = [];
window.simOS = [];
window.simDismissed = [];
window.simAuthorizeCalls = 0;
window.simFirstContent = {};

function showError(message) {
  byId("sim-error").textContent = " " + message;
}

if (config.css) {
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = config.css;
  document.head.append(link);
}

// One consent dialog at a time, as on acwing.com.
const consent = byId("consent");
let dialogs = Promise.resolve();
function ask(appid) {
  const answer = dialogs.then(() => new Promise((resolve) => {
    byId("consent-appid").textContent = appid == null ? "" : String(appid);
    consent.style.display = "block";
    const done = (value) => () => { consent.style.display = "none"; resolve(value); };
    byId("acapp-agree").onclick = done(true);
    byId("acapp-reject").onclick = done(false);
    // The player closes the dialog: AcWing never calls back.
    byId("acapp-dismiss").onclick = done(null);
  }));
  dialogs = answer;
  return answer;
}

const lenient = () => byId("delivery").value === "lenient";

function deliver(callback, answer) {
  window.simCallbacks.push(answer === undefined ? null : answer);
  callback(answer);
}

// A call to the simulator, standing in for AcWing's own server. AcWing's
// page uses jQuery's $.ajax: with strict delivery a failure (a non-2xx
// answer, a dropped connection) never reaches the app's callback, exactly
// as a `success` handler never sees one.
async function acwing(path, body, callback) {
  let resp;
  try {
    resp = await fetch(path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  } catch (err) {
    if (lenient()) deliver(callback, { errcode: "-1", errmsg: String(err) });
    return null;
  }
  let answer;
  try { answer = await resp.json(); } catch (err) { answer = undefined; }
  if (!resp.ok) {
    if (lenient()) deliver(callback, answer);
    else if (answer && typeof answer.error === "string") showError(answer.error);
    return null;
  }
  return answer;
}

// AcWing's page requests redirect_uri the way jQuery's $.ajax does, and
// hands the parsed answer to the callback (strict: only a 2xx answer).
async function requestRedirect(url, callback) {
  let resp;
  try {
    resp = await fetch(url, { mode: "cors", credentials: "omit" });
  } catch (err) {
    if (lenient()) deliver(callback, { errcode: "-1", errmsg: String(err) });
    return;
  }
  if (!resp.ok && !lenient()) return;
  let body;
  try { body = await resp.json(); } catch (err) { body = undefined; }
  deliver(callback, body);
}

async function perform(action, callback) {
  if (!action) return;
  if (action.action === "callback") {
    deliver(callback, action.answer);
  } else if (action.action === "request") {
    await requestRedirect(action.url, callback);
  } else if (action.action === "ask") {
    const agreed = await ask(action.appid);
    if (agreed === null) {
      window.simDismissed.push(callback);
      return;
    }
    const next = await acwing("/__sim/window/decide", {
      ticket: action.ticket,
      decision: agreed ? "agree" : "reject",
      openid: byId("user").value,
      reject_style: byId("reject-style").value,
    }, callback);
    await perform(next, callback);
  }
}

// The arguments as JSON: AcWing would put them in a URL, so what cannot
// be written out (a function, a symbol) arrives as nothing.
function argument(value) {
  if (value === undefined || value === null) return null;
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return value;
  try { return String(value); } catch (err) { return null; }
}

let closedCount = 0;

function makeOS(frame, closeHandlers) {
  const close = () => {
    if (frame.dataset.closed) return;
    frame.dataset.closed = "1";
    const note = document.createElement("p");
    note.className = "acapp-closed";
    note.textContent = "窗口 " + frame.dataset.window + " 已关闭";
    frame.replaceChildren(note);
    closeHandlers.splice(0).forEach((fn) => {
      try { fn(); } catch (err) { console.error("on_close handler threw", err); }
    });
    closedCount += 1;
    document.body.dataset.acappClosed = "1";
    byId("sim-closed").textContent = " AcApp 窗口已关闭";
    updateOpenButton();
  };
  return {
    api: {
      oauth2: {
        async authorize(appid, redirectUri, scope, state, callback) {
          window.simAuthorizeCalls += 1;
          if (typeof callback !== "function") {
            showError("authorize: callback is not a function");
            return;
          }
          const action = await acwing("/__sim/window/authorize", {
            appid: argument(appid),
            redirect_uri: argument(redirectUri),
            scope: argument(scope),
            state: argument(state),
            openid: byId("user").value,
            reject_style: byId("reject-style").value,
          }, callback);
          await perform(action, callback);
        },
      },
      window: {
        close,
        on_close(fn) {
          if (typeof fn === "function") closeHandlers.push(fn);
        },
        resize() {},
      },
    },
  };
}

let opened = 0;
let AppClass = null;
const openNow = () => opened - closedCount;

// A window's frame, title bar and root; the app is started in it later,
// once its module has loaded.
function createWindow() {
  opened += 1;
  const n = opened;
  const frame = document.createElement("section");
  frame.className = "acapp-window";
  frame.dataset.window = String(n);
  const bar = document.createElement("header");
  bar.className = "acapp-titlebar";
  const title = document.createElement("span");
  title.textContent = config.className + " · 窗口 " + n;
  const closeButton = document.createElement("button");
  closeButton.type = "button";
  closeButton.textContent = "×";
  closeButton.setAttribute("aria-label", "关闭窗口 " + n);
  bar.append(title, closeButton);
  const body = document.createElement("div");
  body.className = "acapp-body";
  const root = document.createElement("div");
  root.id = "app-" + n;
  body.append(root);
  frame.append(bar, body);
  byId("acapp-windows").append(frame);
  new MutationObserver((_, observer) => {
    window.simFirstContent[root.id] = { at: performance.now(), html: root.innerHTML };
    observer.disconnect();
  }).observe(root, { childList: true, subtree: true });
  const os = makeOS(frame, []);
  // The title bar's ×, as on acwing.com: the app's on_close handlers run.
  closeButton.onclick = () => os.api.window.close();
  return { frame, root, os };
}

// `new AppClass(id, AcWingOS)`, as AcWing does.
function start(win) {
  if (win.frame.dataset.closed) return;
  window.simOS.push(win.os);
  try {
    new AppClass(win.root.id, win.os);
  } catch (err) {
    showError("new " + config.className + "(…) threw: " + String(err));
  }
}

function updateOpenButton() {
  byId("open-window").disabled = !AppClass || openNow() >= config.maxWindows;
}

byId("open-window").onclick = () => {
  if (!AppClass || openNow() >= config.maxWindows) return;
  start(createWindow());
  updateOpenButton();
};

if (!config.module) {
  showError("没有注册 AcApp：用 --acapp-js 指定 JS 地址（或在地址后加 ?module=URL）");
} else {
  const first = [];
  for (let i = 0; i < config.windows; i++) first.push(createWindow());
  try {
    const mod = await import(config.module);
    if (typeof mod[config.className] === "function") {
      AppClass = mod[config.className];
      first.forEach(start);
    } else {
      showError("模块没有导出类 " + config.className);
    }
  } catch (err) {
    showError(String(err));
  }
  updateOpenButton();
}
