/*! PolicyChat support widget — vanilla JS, no build step.
 *
 *   <script src="https://HOST/widget.js" data-policy="aliexpress" data-title="Privacy help"
 *           data-color="#e62e04" defer></script>
 *
 * Adds a floating launcher; the chat panel lives in a shadow root (host CSS cannot reach it and
 * it cannot reach the host page). The API origin is the origin of this script's src (override
 * with data-api). Answers stream from /api/ask/stream (server-sent events over fetch). Model and
 * policy text is only ever set with textContent. The conversation is kept in sessionStorage.
 */
(function () {
  "use strict";
  if (window.__policychatWidget) return;
  window.__policychatWidget = true;

  var script = document.currentScript || (function () {
    var all = document.querySelectorAll('script[src*="widget.js"]');
    return all[all.length - 1];
  })();
  if (!script) return;

  var attr = function (name, fallback) {
    var v = script.getAttribute(name);
    return v && v.trim() ? v.trim() : fallback;
  };
  var API = attr("data-api", new URL(script.src, document.baseURI).origin).replace(/\/+$/, "");
  var POLICY = attr("data-policy", "");
  var TITLE = attr("data-title", "Privacy help");
  var COLOR = attr("data-color", "#4f46e5");
  var POSITION = attr("data-position", "right") === "left" ? "left" : "right";
  var MAX_CHARS = 2000;
  var STORE_KEY = "policychat:" + API + ":" + (POLICY || "*");
  var EXAMPLES = ["How long do you keep my data?", "Who do you share my data with?",
                  "How do I delete my account?"];
  var SVG_NS = "http://www.w3.org/2000/svg";

  var CSS = [
    ":host{all:initial!important;display:block!important;position:fixed!important;inset:auto!important;",
    "width:0!important;height:0!important;margin:0!important;padding:0!important;border:0!important;",
    "visibility:visible!important;opacity:1!important;transform:none!important;filter:none!important;",
    "z-index:2147483000!important;contain:none!important;overflow:visible!important;pointer-events:none!important}",
    "*,*::before,*::after{box-sizing:border-box}",
    ".root{all:initial;display:block;font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;",
    "font-size:15px;line-height:1.45;color:#111827;-webkit-font-smoothing:antialiased;pointer-events:auto}",
    "[hidden]{display:none!important}",
    "button{font:inherit;color:inherit;cursor:pointer;margin:0}",
    "button:focus-visible,textarea:focus-visible,summary:focus-visible{outline:3px solid var(--accent);outline-offset:2px}",
    ".launcher{position:fixed;bottom:20px;SIDE:20px;display:flex;align-items:center;gap:8px;height:52px;",
    "padding:0 20px 0 16px;border:0;border-radius:26px;background:var(--accent);color:var(--on-accent);",
    "font-size:15px;font-weight:600;box-shadow:0 6px 24px rgba(0,0,0,.22);transition:transform .15s}",
    ".launcher:hover{transform:translateY(-1px)}",
    ".launcher svg{width:22px;height:22px;flex:none}",
    ".panel{position:fixed;bottom:86px;SIDE:20px;width:380px;height:min(600px,calc(100vh - 110px));",
    "display:flex;flex-direction:column;background:#fff;border-radius:16px;overflow:hidden;",
    "box-shadow:0 12px 48px rgba(15,23,42,.28);border:1px solid rgba(15,23,42,.08)}",
    ".head{display:flex;align-items:center;gap:10px;padding:14px 12px 14px 16px;background:var(--accent);color:var(--on-accent)}",
    ".head-text{flex:1;min-width:0}",
    ".title{margin:0;font-size:16px;font-weight:700;line-height:1.25}",
    ".sub{margin:2px 0 0;font-size:12px;opacity:.85;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}",
    ".icon-btn{flex:none;width:34px;height:34px;display:inline-flex;align-items:center;justify-content:center;",
    "border:0;border-radius:10px;background:rgba(255,255,255,.16);color:inherit}",
    ".icon-btn:hover{background:rgba(255,255,255,.28)}",
    ".icon-btn svg{width:18px;height:18px}",
    ".log{flex:1;overflow-y:auto;padding:16px;display:flex;flex-direction:column;gap:12px;background:#f8fafc;overscroll-behavior:contain}",
    ".msg{max-width:88%;padding:10px 13px;border-radius:14px;white-space:pre-wrap;overflow-wrap:anywhere;word-break:break-word}",
    ".user{align-self:flex-end;background:var(--accent);color:var(--on-accent);border-bottom-right-radius:4px}",
    ".bot{align-self:flex-start;background:#fff;border:1px solid #e5e7eb;border-bottom-left-radius:4px;max-width:100%}",
    ".bot.error{border-color:#fecaca;background:#fef2f2;color:#991b1b}",
    ".welcome{align-self:stretch;max-width:100%;background:#fff;border:1px solid #e5e7eb}",
    ".chips{display:flex;flex-wrap:wrap;gap:6px;margin-top:10px}",
    ".chip{border:1px solid #d1d5db;background:#fff;border-radius:999px;padding:5px 11px;font-size:13px;color:#374151}",
    ".chip:hover{border-color:var(--accent);color:var(--accent)}",
    ".cites{list-style:none;margin:10px 0 0;padding:0;display:flex;flex-direction:column;gap:8px;white-space:normal}",
    ".cite{display:flex;gap:8px;padding:8px 10px;border-radius:10px;background:#f8fafc;border:1px solid #eef0f3}",
    ".num{flex:none;width:20px;height:20px;border-radius:50%;background:var(--accent);color:var(--on-accent);",
    "font-size:11px;font-weight:700;display:inline-flex;align-items:center;justify-content:center;margin-top:1px}",
    ".cite-body{min-width:0;display:flex;flex-direction:column;gap:3px}",
    ".src{font-size:12px;font-weight:600;color:#374151}",
    ".quote{margin:0;font-size:13px;color:#1f2937;border-left:3px solid var(--accent);padding-left:8px;white-space:pre-wrap}",
    ".answer{white-space:normal}",
    ".answer p{margin:0 0 8px}.answer p:last-child{margin-bottom:0}",
    ".answer ul{margin:2px 0 8px;padding-left:20px}.answer li{margin:2px 0}",
    ".part-title{display:block;font-size:12px;font-weight:700;color:#374151;margin-bottom:1px}",
    ".join{display:inline-block;width:.45em}.quote .join{display:block;height:.3em;width:auto}",
    ".notice{margin:0 12px 6px;padding:6px 10px;border-radius:8px;background:#fef2f2;color:#991b1b;font-size:13px}",
    ".typing{display:inline-flex;gap:4px;padding:3px 0}",
    ".typing i{width:7px;height:7px;border-radius:50%;background:#9ca3af;animation:blink 1.2s infinite ease-in-out}",
    ".typing i:nth-child(2){animation-delay:.2s}.typing i:nth-child(3){animation-delay:.4s}",
    "@keyframes blink{0%,80%,100%{opacity:.25}40%{opacity:1}}",
    ".form{display:flex;align-items:flex-end;gap:8px;padding:10px 12px;border-top:1px solid #e5e7eb;background:#fff}",
    ".input{flex:1;min-width:0;resize:none;max-height:120px;min-height:42px;padding:10px 12px;border:1px solid #d1d5db;",
    "border-radius:12px;font:inherit;font-size:15px;color:#111827;background:#fff;line-height:1.35}",
    ".input:focus{border-color:var(--accent);outline:none;box-shadow:0 0 0 3px var(--ring)}",
    ".send{flex:none;width:42px;height:42px;border:0;border-radius:12px;background:var(--accent);color:var(--on-accent);",
    "display:inline-flex;align-items:center;justify-content:center}",
    ".send:disabled{opacity:.5;cursor:default}",
    ".send svg{width:20px;height:20px}",
    ".foot{padding:0 12px 8px;background:#fff;font-size:11px;color:#6b7280;text-align:center}",
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}",
    ".tools{display:flex;gap:6px;padding:8px 12px 0;background:#fff;border-top:1px solid #e5e7eb}",
    ".tool{border:1px solid #d1d5db;background:#fff;border-radius:999px;padding:4px 12px;font-size:13px;color:#374151}",
    ".tool:hover{border-color:var(--accent);color:var(--accent)}.tool:disabled{opacity:.5;cursor:default}",
    ".tools+.form{border-top:0}",
    ".label-rows{list-style:none;margin:8px 0 0;padding:0;display:flex;flex-direction:column;gap:8px;white-space:normal}",
    ".label-row{padding:8px 10px;border-radius:10px;background:#f8fafc;border:1px solid #eef0f3}",
    ".label-row.missing{color:#6b7280}",
    ".label-title{font-size:12px;font-weight:700;color:#374151}",
    ".label-summary{font-size:13px;margin-top:2px}",
    ".facts{display:flex;flex-wrap:wrap;gap:4px;margin-top:4px}",
    ".fact{font-size:11px;padding:1px 7px;border-radius:999px;background:#eef2ff;color:#3730a3;overflow-wrap:anywhere}",
    ".label-cites{margin-top:4px;font-size:12px}.label-cites summary{color:var(--accent);font-weight:600}",
    ".label-cites .quote{margin-top:4px}",
    "@media (max-width:480px){",
    ".panel{inset:0;width:100%;height:100%;max-height:none;border-radius:0;border:0}",
    ".launcher{bottom:14px;SIDE:14px}",
    // full screen: the launcher would sit on Send; the panel's own close button closes it
    ".root.open .launcher{display:none}",
    ".msg{max-width:92%}}",
    "@media (prefers-reduced-motion:reduce){*{animation:none!important;transition:none!important}}"
  ].join("\n").replace(/SIDE/g, POSITION);

  // --- tiny DOM helpers (text only: never innerHTML) ------------------------------------
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = text;
    return node;
  }
  function icon(paths) {
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("fill", "none");
    svg.setAttribute("stroke", "currentColor");
    svg.setAttribute("stroke-width", "2");
    svg.setAttribute("stroke-linecap", "round");
    svg.setAttribute("stroke-linejoin", "round");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    paths.forEach(function (d) {
      var p = document.createElementNS(SVG_NS, "path");
      p.setAttribute("d", d);
      svg.appendChild(p);
    });
    return svg;
  }
  var ICON_CHAT = ["M21 12a8 8 0 0 1-11.6 7.1L4 20l1-4.6A8 8 0 1 1 21 12z"];
  var ICON_CLOSE = ["M6 6l12 12", "M18 6L6 18"];
  var ICON_SEND = ["M5 12h13", "M12 5l7 7-7 7"];
  var ICON_NEW = ["M3 12a9 9 0 1 0 3-6.7", "M3 4v5h5"];

  // --- state ------------------------------------------------------------------------------
  function load() {
    try {
      var s = JSON.parse(window.sessionStorage.getItem(STORE_KEY) || "null");
      if (s && Array.isArray(s.messages)) {
        s.messages.forEach(function (m) {   // a page left while an answer was streaming
          if (m.pending) { m.pending = false; if (!m.text) m.error = "This answer was interrupted."; }
        });
        return s;
      }
    } catch (e) { /* storage disabled or corrupt: start fresh */ }
    return { session_id: null, open: false, messages: [] };
  }
  var state = load();
  function save() {
    try {
      state.messages = state.messages.slice(-40);
      window.sessionStorage.setItem(STORE_KEY, JSON.stringify(state));
    } catch (e) { /* quota or privacy mode: the conversation just isn't kept */ }
  }

  var titles = {};
  var nodes = new WeakMap();   // message → its element (render() may rebuild the log at any time)
  var ui = {};
  var busy = false;

  function accentColors(root) {
    var probe = el("span");
    probe.style.color = "rgb(79, 70, 229)";
    probe.style.color = COLOR;   // ignored by the browser when not a valid colour
    root.appendChild(probe);
    var m = getComputedStyle(probe).color.match(/\d+(\.\d+)?/g) || [79, 70, 229];
    root.removeChild(probe);
    var rgb = m.slice(0, 3).map(Number);
    var lum = rgb.map(function (c) {
      c /= 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    var L = 0.2126 * lum[0] + 0.7152 * lum[1] + 0.0722 * lum[2];
    root.style.setProperty("--accent", "rgb(" + rgb.join(",") + ")");
    root.style.setProperty("--ring", "rgba(" + rgb.join(",") + ",.25)");
    root.style.setProperty("--on-accent", L > 0.45 ? "#111827" : "#ffffff");
  }

  function build() {
    var host = document.createElement("policychat-widget");
    host.setAttribute("data-policychat", "");
    ["all:initial", "display:block", "position:fixed", "width:0", "height:0", "z-index:2147483000",
     "visibility:visible", "opacity:1"].forEach(function (decl) {
      var i = decl.indexOf(":");
      host.style.setProperty(decl.slice(0, i), decl.slice(i + 1), "important");
    });
    var shadow = host.attachShadow({ mode: "open" });
    try {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      shadow.adoptedStyleSheets = [sheet];
    } catch (e) {
      shadow.appendChild(el("style", null, CSS));
    }
    var root = el("div", "root");
    shadow.appendChild(root);

    var launcher = el("button", "launcher");
    launcher.type = "button";
    launcher.setAttribute("aria-label", "Open " + TITLE);
    launcher.setAttribute("aria-haspopup", "dialog");
    launcher.setAttribute("aria-expanded", "false");
    launcher.setAttribute("aria-controls", "pc-panel");
    launcher.appendChild(icon(ICON_CHAT));
    launcher.appendChild(el("span", "launcher-text", TITLE));

    var panel = el("div", "panel");
    panel.id = "pc-panel";
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-modal", "false");
    panel.setAttribute("aria-labelledby", "pc-title");
    panel.hidden = true;

    var head = el("div", "head");
    var headText = el("div", "head-text");
    var title = el("h2", "title", TITLE);
    title.id = "pc-title";
    var sub = el("p", "sub", "Answers quoted from our privacy policy");
    headText.appendChild(title);
    headText.appendChild(sub);
    var reset = el("button", "icon-btn");
    reset.type = "button";
    reset.setAttribute("aria-label", "Start a new conversation");
    reset.title = "New conversation";
    reset.appendChild(icon(ICON_NEW));
    var close = el("button", "icon-btn");
    close.type = "button";
    close.setAttribute("aria-label", "Close " + TITLE);
    close.title = "Close";
    close.appendChild(icon(ICON_CLOSE));
    head.appendChild(headText);
    head.appendChild(reset);
    head.appendChild(close);

    var log = el("div", "log");
    log.setAttribute("role", "log");
    log.setAttribute("aria-live", "polite");
    log.setAttribute("aria-label", "Conversation");

    var form = el("form", "form");
    form.setAttribute("novalidate", "");
    var label = el("label", "sr", "Your question");
    label.setAttribute("for", "pc-input");
    var input = el("textarea", "input");
    input.id = "pc-input";
    input.rows = 1;
    input.placeholder = "Ask a question…";
    input.setAttribute("aria-label", "Your question");
    var send = el("button", "send");
    send.type = "submit";
    send.setAttribute("aria-label", "Send question");
    send.appendChild(icon(ICON_SEND));
    var notice = el("p", "notice");
    notice.setAttribute("role", "alert");
    notice.hidden = true;
    form.appendChild(label);
    form.appendChild(input);
    form.appendChild(send);
    var foot = el("div", "foot", "Answers quote the policy verbatim · not legal advice");

    panel.appendChild(head);
    panel.appendChild(log);
    panel.appendChild(notice);
    var tools = POLICY ? summaryBar() : null;   // the policy's privacy label, above the input
    if (tools) panel.appendChild(tools);
    panel.appendChild(form);
    panel.appendChild(foot);
    root.appendChild(panel);
    root.appendChild(launcher);

    ui = { host: host, root: root, launcher: launcher, panel: panel, log: log, input: input, send: send,
           sub: sub, notice: notice, summary: tools && tools.firstChild };

    launcher.addEventListener("click", function () { setOpen(!state.open); });
    close.addEventListener("click", function () { setOpen(false); });
    reset.addEventListener("click", function () {
      state = { session_id: null, open: true, messages: [] };
      save();
      render();
      input.focus();
    });
    panel.addEventListener("keydown", function (e) {
      if (e.key === "Escape") { e.preventDefault(); setOpen(false); }
    });
    form.addEventListener("submit", function (e) { e.preventDefault(); submit(input.value); });
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); submit(input.value); }
    });
    input.addEventListener("input", function () {
      notice.hidden = true;
      input.style.height = "auto";
      input.style.height = Math.min(input.scrollHeight, 120) + "px";
    });

    document.body.appendChild(host);
    accentColors(root);   // needs a connected element to read the computed colour
    render();
    if (state.open) setOpen(true, true);
  }

  function setOpen(open, restoring) {
    state.open = open;
    ui.panel.hidden = !open;
    ui.root.classList.toggle("open", open);
    ui.launcher.setAttribute("aria-expanded", String(open));
    ui.launcher.setAttribute("aria-label", (open ? "Close " : "Open ") + TITLE);
    save();
    if (open) {
      loadTitles();
      scrollDown();
      if (!restoring) ui.input.focus();
    } else if (!restoring) {
      ui.launcher.focus();
    }
  }

  function loadTitles() {
    if (loadTitles.done) return;
    loadTitles.done = true;
    fetch(API + "/api/policies", { credentials: "omit" }).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (data) {
      if (!data || !Array.isArray(data.policies)) return;
      data.policies.forEach(function (p) {
        titles[p.id] = p.title;
        if (p.id === POLICY) {
          ui.sub.textContent = p.title + (p.current_version ? " · " + p.current_version : "");
        }
      });
      render();
    }).catch(function () { loadTitles.done = false; });
  }

  // --- rendering ----------------------------------------------------------------------------
  function render() {
    var log = ui.log;
    while (log.firstChild) log.removeChild(log.firstChild);
    if (!state.messages.length) {
      var hello = el("div", "msg bot welcome");
      hello.appendChild(el("div", null, "Hi! Ask me anything about how your personal data is handled. " +
                                        "I answer with quotes from the policy."));
      var chips = el("div", "chips");
      EXAMPLES.forEach(function (q) {
        var chip = el("button", "chip", q);
        chip.type = "button";
        chip.addEventListener("click", function () { submit(q); });
        chips.appendChild(chip);
      });
      hello.appendChild(chips);
      log.appendChild(hello);
    }
    state.messages.forEach(function (m) {
      var node = messageNode(m);
      nodes.set(m, node);
      log.appendChild(node);
    });
    scrollDown();
  }

  function messageNode(m) {
    if (m.role === "user") return el("div", "msg user", m.text);
    if (m.label) return labelNode(m.label);
    var node = el("div", "msg bot" + (m.error ? " error" : ""));
    fillAnswer(node, m);
    return node;
  }

  function fillAnswer(node, m) {
    while (node.firstChild) node.removeChild(node.firstChild);
    if (m.pending && !m.text) {
      var dots = el("span", "typing");
      dots.setAttribute("aria-label", "Thinking");
      dots.appendChild(el("i"));
      dots.appendChild(el("i"));
      dots.appendChild(el("i"));
      node.appendChild(dots);
      return;
    }
    node.appendChild(m.error ? el("div", "answer", m.error) : answerNode(m.text));
    if (m.citations && m.citations.length) {
      var list = el("ol", "cites");
      list.setAttribute("aria-label", "Sources");
      m.citations.forEach(function (c, i) {
        var item = el("li", "cite");
        item.appendChild(el("span", "num", String(i + 1)));
        var body = el("div", "cite-body");
        var src = (titles[c.policy] || c.policy) + " · " + c.section + (c.version ? " · " + c.version : "");
        body.appendChild(el("span", "src", src));
        body.appendChild(withBreaks(el("blockquote", "quote"), String(c.quote).replace(/\s+/g, " ").trim()));
        item.appendChild(body);
        list.appendChild(item);
      });
      node.appendChild(list);
    }
  }

  // The answer as paragraphs, "- " lines as a list, each policy's part under its title (the same
  // rules as ui/answer_html.py). Text only ever goes in through textContent.
  var JOINED = /(?<=[a-z0-9)\]\u201d\u2019"'][.!?])(?=[A-Z\u201c\u2018"])/;
  var BULLET = /^\s*[-\u2022*]\s+/;

  function withBreaks(node, text) {   // "…you.Information": a visible break, the text unchanged
    text.split(JOINED).forEach(function (part, i) {
      if (i) {
        var mark = el("span", "join");
        mark.setAttribute("aria-hidden", "true");
        node.appendChild(mark);
      }
      node.appendChild(document.createTextNode(part));
    });
    return node;
  }

  function leadTitle(line) {
    var best = null;
    Object.keys(titles).forEach(function (id) {
      var t = titles[id];
      if (t && line.indexOf(t + ": ") === 0 && (!best || t.length > best.length)) best = t;
    });
    return best;
  }

  function answerNode(text) {
    var root = el("div", "answer"), list = null;
    String(text || "").split("\n").forEach(function (line) {
      if (!line.trim()) return;
      if (BULLET.test(line)) {
        if (!list) list = root.appendChild(el("ul"));
        list.appendChild(withBreaks(el("li"), line.replace(BULLET, "")));
        return;
      }
      list = null;
      var p = el("p"), title = leadTitle(line);
      if (title) {
        p.appendChild(el("strong", "part-title", title));
        line = line.slice(title.length + 2);
      }
      root.appendChild(withBreaks(p, line));
    });
    return root;
  }

  function scrollDown() {
    if (ui.log) ui.log.scrollTop = ui.log.scrollHeight;
  }

  // --- asking -------------------------------------------------------------------------------
  function submit(text) {
    var q = String(text || "").trim();
    if (!q || busy) return;
    if (q.length > MAX_CHARS) {   // the API's own words; the text stays in the box to be shortened
      ui.notice.textContent = "The question is " + q.length + " characters; the limit is " + MAX_CHARS + ".";
      ui.notice.hidden = false;
      return;
    }
    ui.notice.hidden = true;
    ui.input.value = "";
    ui.input.style.height = "";
    ask(q);
  }

  function setBusy(value) {
    busy = value;
    ui.send.disabled = value;
    if (ui.summary) ui.summary.disabled = value;
    ui.log.setAttribute("aria-busy", String(value));
  }

  function ask(question) {
    setBusy(true);
    var asked = { role: "user", text: question };
    var answer = { role: "assistant", text: "", citations: [], pending: true };
    state.messages.push(asked);
    state.messages.push(answer);
    render();
    var update = function () {
      var node = nodes.get(answer);
      node.className = "msg bot" + (answer.error ? " error" : "");
      fillAnswer(node, answer);
      scrollDown();
    };
    var showAnswer = function () {   // long answers: keep the question and the answer's start in view
      update();
      ui.log.scrollTop = Math.max(0, nodes.get(asked).offsetTop - ui.log.offsetTop - 8);
    };
    var finish = function () {
      answer.pending = false;
      if (!answer.text && !answer.error) answer.error = "No answer came back. Please try again.";
      if (answer.error) update(); else showAnswer();
      setBusy(false);
      save();
    };
    var fail = function (message) {
      answer.error = message;
      finish();
    };
    fetch(API + "/api/ask/stream", {
      method: "POST",
      mode: "cors",
      credentials: "omit",
      headers: { "Content-Type": "application/json", "Accept": "text/event-stream" },
      body: JSON.stringify({ question: question, policy: POLICY || null, session_id: state.session_id })
    }).then(function (res) {
      if (!res.ok) {
        return res.json().catch(function () { return {}; }).then(function (data) {
          var msg = data && typeof data.error === "string" ? data.error : "The assistant is unavailable (HTTP " + res.status + ").";
          if (res.status === 429) msg = "You're asking quickly! " + msg;
          fail(msg.charAt(0).toUpperCase() + msg.slice(1));
        });
      }
      if (!res.body || !res.body.getReader) return fail("This browser cannot read streamed answers.");
      return readEvents(res.body.getReader(), function (event, data) {
        if (event === "token") {
          answer.text += data.text || "";
          update();
        } else if (event === "reset") {
          answer.text = "";
          update();
        } else if (event === "citations") {
          answer.text = typeof data.answer === "string" ? data.answer : answer.text;
          answer.citations = Array.isArray(data.citations) ? data.citations : [];
          if (data.session_id) state.session_id = data.session_id;
          showAnswer();
        } else if (event === "error") {
          answer.error = data.error || "Something went wrong.";
          update();
        }
      }).then(finish);
    }).catch(function () {
      fail("Could not reach the assistant. Check your connection and try again.");
    });
  }

  // --- summary: the policy's privacy label (GET /api/policies/{id}/label) --------------------
  function summaryBar() {
    var bar = el("div", "tools");
    var btn = el("button", "tool summary-btn", "Summary");
    btn.type = "button";
    btn.title = "What this policy says, practice by practice";
    btn.addEventListener("click", showSummary);
    bar.appendChild(btn);
    return bar;
  }

  function showSummary() {
    if (busy) return;
    setBusy(true);
    var m = { role: "assistant", text: "", pending: true };
    state.messages.push({ role: "user", text: "Summary" });
    state.messages.push(m);
    render();
    fetch(API + "/api/policies/" + encodeURIComponent(POLICY) + "/label", { credentials: "omit", mode: "cors" })
      .then(function (res) {
        return res.json().catch(function () { return {}; }).then(function (data) {
          if (res.ok && data && Array.isArray(data.rows)) { m.label = data; return; }
          var msg = data && typeof data.error === "string" ? data.error : "The summary is unavailable (HTTP " + res.status + ").";
          m.error = msg.charAt(0).toUpperCase() + msg.slice(1);
        });
      })
      .catch(function () { m.error = "Could not reach the assistant. Check your connection and try again."; })
      .then(function () {
        m.pending = false;
        setBusy(false);
        save();
        render();
        var node = nodes.get(m);
        if (node) ui.log.scrollTop = Math.max(0, node.offsetTop - ui.log.offsetTop - 8);
      });
  }

  function labelNode(label) {
    var node = el("div", "msg bot label");
    node.appendChild(el("div", "answer", "Privacy summary of " + (label.title || POLICY) +
                                        (label.version ? " · " + label.version : "")));
    var list = el("ol", "label-rows");
    label.rows.forEach(function (row) {
      var item = el("li", "label-row" + (row.stated ? "" : " missing"));
      item.setAttribute("data-row", row.key);
      item.appendChild(el("div", "label-title", row.title));
      item.appendChild(el("div", "label-summary", row.stated ? row.summary : "Not stated"));
      if (row.facts && row.facts.length) {
        var facts = el("div", "facts");
        row.facts.slice(0, 6).forEach(function (f) { facts.appendChild(el("span", "fact", f.text)); });
        item.appendChild(facts);
      }
      if (row.citations && row.citations.length) {   // sources stay closed until asked for
        var more = el("details", "label-cites");
        more.appendChild(el("summary", null, row.citations.length === 1 ? "Source" : row.citations.length + " sources"));
        row.citations.forEach(function (c) {
          more.appendChild(el("span", "src", c.section + (c.version ? " · " + c.version : "")));
          more.appendChild(el("blockquote", "quote", String(c.quote).replace(/\s+/g, " ").trim()));
        });
        item.appendChild(more);
      }
      list.appendChild(item);
    });
    node.appendChild(list);
    return node;
  }

  function readEvents(reader, onEvent) {
    var decoder = new TextDecoder();
    var buffer = "";
    function dispatch(block) {
      var event = "message", data = [];
      block.split("\n").forEach(function (line) {
        if (!line || line.charAt(0) === ":") return;
        var i = line.indexOf(":");
        var field = i < 0 ? line : line.slice(0, i);
        var value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
        if (field === "event") event = value;
        else if (field === "data") data.push(value);
      });
      if (!data.length) return;
      var payload;
      try { payload = JSON.parse(data.join("\n")); } catch (e) { return; }
      onEvent(event, payload || {});
    }
    function pump() {
      return reader.read().then(function (chunk) {
        if (chunk.done) {
          buffer += decoder.decode();
          if (buffer.trim()) dispatch(buffer.replace(/\r\n?/g, "\n"));
          return;
        }
        buffer += decoder.decode(chunk.value, { stream: true });
        buffer = buffer.replace(/\r\n?/g, "\n");
        var at;
        while ((at = buffer.indexOf("\n\n")) >= 0) {
          dispatch(buffer.slice(0, at));
          buffer = buffer.slice(at + 2);
        }
        return pump();
      });
    }
    return pump();
  }

  if (document.body) build();
  else document.addEventListener("DOMContentLoaded", build);
})();
