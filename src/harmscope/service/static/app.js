// harmscope playground: plain JavaScript, no framework, no build step, nothing from other origins.
//
// Talks to the server it was loaded from: GET /readyz (what is loaded), GET /v1/policy (the weights the
// sliders steer), POST /v1/analyze (the verdict and its explanation; sliders re-send the prompt with a
// per-request policy). The prompt lives in the text box and in the request only: it is never stored, put
// in a URL or logged. Every value from the server is inserted as text (textContent), never as HTML.
"use strict";

(() => {
  const KEY_STORAGE = "harmscope.apiKey";
  const NEIGHBOURS = 5;
  const DEBOUNCE_MS = 250;

  const $ = (id) => document.getElementById(id);
  const state = {
    policy: null, // GET /v1/policy answer, or null when it could not be read
    thresholdBase: null, // the threshold slider's starting value (as the slider holds it)
    analysed: false, // a result is on screen, so sliders re-score
    seq: 0, // the newest analyze request; older answers are dropped
    timer: null,
  };

  // -- small helpers ------------------------------------------------------------------------------------
  function h(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = String(v);
      else if (k === "style") Object.assign(node.style, v); // CSSOM, which the page's CSP allows
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
      if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
    }
    return node;
  }
  const fmt = (x, digits = 3) => (Number.isFinite(Number(x)) ? Number(x).toFixed(digits) : "–");
  const signed = (x) => (x > 0 ? "+" : x < 0 ? "−" : "") + Math.abs(x).toFixed(3);
  const pct = (x) => `${Math.max(0, Math.min(1, Number(x) || 0)) * 100}%`;

  // -- the API ------------------------------------------------------------------------------------------
  class ApiError extends Error {
    constructor(status, body) {
      const e = body && typeof body.error === "object" && body.error ? body.error : {};
      super(e.message || `the server answered HTTP ${status}`);
      this.status = status;
      this.type = e.type || "error";
      this.code = e.code || null;
      this.param = e.param || null;
    }
  }

  function apiKey() {
    try {
      return sessionStorage.getItem(KEY_STORAGE) || "";
    } catch {
      return "";
    }
  }

  async function call(path, body) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const key = apiKey();
    if (key && path.startsWith("/v1/")) headers.Authorization = `Bearer ${key}`;
    let resp;
    try {
      resp = await fetch(path, {
        method: body === undefined ? "GET" : "POST", headers, cache: "no-store", credentials: "omit",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new ApiError(0, { error: { type: "network_error", code: "unreachable",
        message: "the server could not be reached (is `harmscope serve` running?)" } });
    }
    let data = null;
    try {
      data = await resp.json();
    } catch {
      data = null;
    }
    if (!resp.ok) throw new ApiError(resp.status, data);
    return data;
  }

  // -- errors -------------------------------------------------------------------------------------------
  function showError(err) {
    const box = $("error");
    box.replaceChildren();
    if (!err) {
      box.hidden = true;
      return;
    }
    const head = err.status ? `${err.status} ${err.type || "error"}` : err.type || "error";
    box.append(h("div", null, h("strong", { text: head }), ": ", err.message || String(err)));
    const meta = [err.code && `code: ${err.code}`, err.param && `param: ${err.param}`].filter(Boolean);
    if (meta.length) box.append(h("div", { class: "code" }, meta.join(" · ")));
    box.hidden = false;
    if (err.status === 401) {
      $("key-box").open = true;
      $("api-key").focus();
    }
  }

  // -- what is loaded -----------------------------------------------------------------------------------
  async function loadInfo() {
    const info = $("detector-info");
    let status = 0;
    let data = null;
    try {
      const resp = await fetch("/readyz", { cache: "no-store" });
      status = resp.status;
      data = await resp.json();
    } catch {
      data = null;
    }
    if (status === 200 && data && data.detector) {
      const d = data.detector;
      info.textContent = `detector ${d.name} · ${d.kind} · ${d.version} · threshold ${fmt(d.threshold)}`;
      await loadPolicy();
      return;
    }
    if (data && data.status === "failed") {
      info.textContent = `the detector failed to load: ${data.error}`;
      return;
    }
    info.textContent = data && data.status === "loading" ? "detector loading…" : "server not reachable; retrying…";
    setTimeout(loadInfo, 1000);
  }

  async function loadPolicy() {
    try {
      state.policy = await call("/v1/policy");
    } catch (err) {
      state.policy = null;
      showError(err);
    }
    buildSliders();
  }

  // -- sliders ------------------------------------------------------------------------------------------
  function slider(id, label, min, max, value, data) {
    const input = h("input", { id, type: "range", min, max, step: 0.01, "aria-label": label });
    input.value = String(value);
    input.dataset.base = input.value; // as the slider holds it (snapped to the step)
    for (const [k, v] of Object.entries(data)) input.dataset[k] = v;
    const out = h("output", { for: id, text: fmt(input.value, 2) });
    const wrap = h("div", { class: "slider" }, h("label", { for: id, text: data.name || label }),
      h("div", { class: "row" }, input, out));
    input.addEventListener("input", () => {
      out.textContent = fmt(input.value, 2);
      wrap.classList.toggle("changed", input.value !== input.dataset.base);
      scheduleRescore();
    });
    return wrap;
  }

  function buildSliders() {
    const box = $("weights");
    box.replaceChildren();
    const th = $("threshold-slider");
    const p = state.policy;
    $("reset-policy").disabled = !p;
    $("not-steerable").hidden = !p || p.steerable;
    th.disabled = !p;
    if (!p) return;
    th.value = String(p.threshold);
    state.thresholdBase = th.value;
    $("threshold-value").textContent = fmt(th.value, 2);
    th.closest(".slider").classList.remove("changed");
    p.groups.forEach((g, gi) => {
      const group = h("details", { class: "weight-group", open: gi === 0 },
        h("summary", { text: g.label }), h("p", { class: "hint", text: g.description }));
      Object.entries(g.values).forEach(([name, value], i) => {
        group.append(slider(`w-${gi}-${i}`, `${g.label}: ${name}`, g.min, g.max, value,
          { key: g.key, name: g.scalar ? "" : name, scalar: g.scalar ? "1" : "0" }));
      });
      box.append(group);
    });
  }

  function policyBody() {
    const policy = {};
    const th = $("threshold-slider");
    if (state.policy && th.value !== state.thresholdBase) policy.threshold = Number(th.value);
    const weights = {};
    for (const input of document.querySelectorAll("#weights input[type=range]")) {
      if (input.value === input.dataset.base) continue;
      const key = input.dataset.key;
      if (input.dataset.scalar === "1") weights[key] = Number(input.value);
      else (weights[key] ||= {})[input.dataset.name] = Number(input.value);
    }
    if (Object.keys(weights).length) policy.weights = weights;
    return Object.keys(policy).length ? policy : null;
  }

  function scheduleRescore() {
    clearTimeout(state.timer);
    if (!state.analysed) return;
    state.timer = setTimeout(() => analyze(), DEBOUNCE_MS);
  }

  function resetPolicy() {
    for (const input of document.querySelectorAll(".policy-panel input[type=range]")) {
      input.value = input.dataset.base || state.thresholdBase;
      input.dispatchEvent(new Event("input"));
    }
  }

  // -- analysis -----------------------------------------------------------------------------------------
  async function analyze() {
    clearTimeout(state.timer);
    const seq = ++state.seq;
    const body = { input: $("prompt").value, neighbours: NEIGHBOURS };
    const policy = policyBody();
    if (policy) body.policy = policy;
    $("analyze").disabled = true;
    try {
      const data = await call("/v1/analyze", body);
      if (seq !== state.seq) return; // a newer request is on its way
      showError(null);
      render(data);
      state.analysed = true;
    } catch (err) {
      if (seq === state.seq) showError(err);
    } finally {
      if (seq === state.seq) $("analyze").disabled = false;
    }
  }

  function render(data) {
    const r = data.results[0];
    $("result").hidden = false;
    const badge = $("verdict");
    badge.textContent = r.verdict.toUpperCase();
    badge.className = `badge ${r.verdict}`;
    badge.dataset.verdict = r.verdict;
    $("score").textContent = fmt(r.score);
    $("threshold").textContent = fmt(r.threshold);
    const fill = $("score-fill");
    fill.style.width = pct(r.score);
    fill.classList.toggle("unsafe", r.flagged);
    $("threshold-mark").style.left = pct(r.threshold);
    $("policy-applied").hidden = !data.policy_applied;
    $("latency").textContent = `${data.detector} · ${fmt(data.latency_ms, 1)} ms`;
    renderCategories(r);
    renderOpenAI(r);
    renderNeighbours(r.neighbours || []);
    renderTree(r.harm_benefit);
    $("result").dataset.seq = String(state.seq);
  }

  function barRow(name, value, cls, isTop) {
    return h("tr", { class: isTop ? "top-row" : null },
      h("td", { class: "name", text: name }),
      h("td", null, h("div", { class: "bar-track" },
        h("div", { class: `bar ${cls || ""}`, style: { width: pct(value) } }))),
      h("td", { class: "value", text: fmt(value) }));
  }

  function renderCategories(r) {
    const body = $("categories").tBodies[0];
    const rows = Object.entries(r.category_scores).sort((a, b) => b[1] - a[1]);
    body.replaceChildren(...rows.map(([name, s]) => barRow(name, s, r.flagged && name === r.category ? "flagged" : "",
      name === r.category)));
    $("top-category").textContent = rows.length ? "" : "no category evidence from this detector";
  }

  function renderOpenAI(r) {
    const flags = Object.entries(r.openai_categories).filter(([, on]) => on).map(([name]) => name);
    $("openai-flags").replaceChildren(...(flags.length ? flags.map((f) => h("span", { class: "chip unsafe", text: f }))
      : [h("span", { class: "chip safe", text: "none flagged" })]));
    const rows = Object.entries(r.openai_category_scores).filter(([, s]) => s > 0).sort((a, b) => b[1] - a[1]);
    $("openai-categories").tBodies[0].replaceChildren(...rows.map(([name, s]) =>
      barRow(name, s, flags.includes(name) ? "flagged" : "", false)));
  }

  function renderNeighbours(items) {
    $("neighbours-box").hidden = items.length === 0;
    $("neighbours").replaceChildren(...items.map((n) => h("li", null,
      h("div", { class: "meta" },
        h("span", { class: `chip ${n.label === "unsafe" ? "unsafe" : n.label === "safe" ? "safe" : ""}`, text: n.label }),
        n.category ? h("span", { class: "chip", text: n.category }) : null,
        h("span", { class: "muted", text: `similarity ${fmt(n.similarity)}` })),
      h("div", { class: "text", text: n.text }))));
  }

  function renderTree(hb) {
    const box = $("tree-box");
    box.hidden = !hb || !hb.tree || !hb.analysis;
    if (box.hidden) return;
    const a = hb.analysis;
    const byPath = new Map(a.contributions.map((c) => [c.path, c.value]));
    $("tree-sum").replaceChildren(
      "score = Σ contributions = ", h("strong", { text: fmt(a.score) }), "; P(unsafe) = σ(score − t) = ",
      h("strong", { text: fmt(a.probability) }), ` with the aggregation threshold t = ${fmt(a.threshold)}`);
    const stakeholders = hb.tree.stakeholders.map((s, si) => {
      const parts = [];
      let total = 0;
      for (const kind of ["harms", "benefits"]) {
        s[kind].forEach((action, ai) => {
          const rows = action.effects.map((e, ei) => {
            const value = byPath.get(`stakeholders[${si}].${kind}[${ai}].effects[${ei}]`) ?? 0;
            total += value;
            const cls = value > 0 ? "pos" : value < 0 ? "neg" : "zero";
            return h("tr", null, h("td", { text: e.effect }), h("td", { text: e.immediacy ? "immediate" : "long-term" }),
              h("td", { text: e.extent }), h("td", { text: e.likelihood }),
              h("td", { class: `contrib ${cls}`, text: signed(value) }));
          });
          const kindName = kind === "harms" ? "harm" : "benefit";
          parts.push(h("div", { class: "action" }, h("span", { class: `kind ${kindName}`, text: kindName }),
            h("strong", { text: action.action }), action.text ? h("span", { class: "muted", text: ` — ${action.text}` }) : null));
          parts.push(h("table", null, h("thead", null, h("tr", null, ["effect", "when", "extent", "likelihood", "contribution"]
            .map((t) => h("th", { text: t })))), h("tbody", null, rows)));
        });
      }
      return h("details", { open: true }, h("summary", null, s.name, h("span", { class: "stake-total", text: signed(total) })),
        parts);
    });
    $("tree").replaceChildren(...stakeholders);
    const totals = Object.entries(hb.totals_by_action).sort((x, y) => y[1] - x[1]);
    const scale = Math.max(1e-9, ...totals.map(([, v]) => Math.abs(v)));
    $("action-totals").tBodies[0].replaceChildren(...totals.map(([name, v]) => h("tr", null,
      h("td", { class: "name", text: name }),
      h("td", null, h("div", { class: "bar-track" },
        h("div", { class: "half neg" }, v < 0 ? h("div", { class: "bar benefit", style: { width: pct(-v / scale) } }) : null),
        h("div", { class: "half" }, v > 0 ? h("div", { class: "bar harm", style: { width: pct(v / scale) } }) : null))),
      h("td", { class: "value", text: signed(v) }))));
  }

  // -- wiring -------------------------------------------------------------------------------------------
  function showKeyState() {
    $("key-state").textContent = apiKey() ? "(set for this tab)" : "(none)";
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("analyze-form").addEventListener("submit", (event) => {
      event.preventDefault();
      analyze();
    });
    $("prompt").addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        $("analyze-form").requestSubmit();
      }
    });
    $("threshold-slider").addEventListener("input", (event) => {
      const th = event.target;
      $("threshold-value").textContent = fmt(th.value, 2);
      th.closest(".slider").classList.toggle("changed", th.value !== state.thresholdBase);
      scheduleRescore();
    });
    $("reset-policy").addEventListener("click", resetPolicy);
    $("key-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const key = $("api-key").value.trim();
      $("api-key").value = "";
      try {
        if (key) sessionStorage.setItem(KEY_STORAGE, key);
      } catch {
        showError({ type: "browser", message: "this browser refuses sessionStorage; the key cannot be kept" });
      }
      showKeyState();
      showError(null);
      loadPolicy();
    });
    $("clear-key").addEventListener("click", () => {
      try {
        sessionStorage.removeItem(KEY_STORAGE);
      } catch {
        /* nothing stored */
      }
      showKeyState();
    });
    showKeyState();
    loadInfo();
  });
})();
