/* The supervision desk's console: plain JavaScript, no library, served by
 * the desk itself (no CDN: the district's intranet is offline). Every call
 * goes to the desk's API with the key the person signed in with, kept in
 * this browser session only (sessionStorage); the API's role checks decide
 * what is shown. */
"use strict";

const TEXT = {
  zh: {
    title: "居家养老服务监管台", language: "语言", signOut: "退出", signIn: "登录",
    keyLabel: "访问密钥（街道、指挥中心或管理员）", signInButton: "登录",
    keyHint: "密钥只保存在本浏览器会话中，关闭窗口即清除。",
    tabLive: "实时告警", tabCases: "案件", tabCaregivers: "护理员", tabDashboard: "街道驾驶舱",
    tabCommand: "指挥中心", liveTitle: "实时告警", casesTitle: "案件", status: "状态",
    any: "全部", OPEN: "待处理", ACKNOWLEDGED: "已受理", ESCALATED: "已上报", RESOLVED: "已办结",
    colour: "级别", RED: "红色", ORANGE: "橙色", YELLOW: "黄色", community: "社区",
    overdueOnly: "只看超时", apply: "筛选", casesHint: "方向键上下移动，回车打开案件。",
    case: "案件", rules: "规则", deadline: "受理时限", back: "返回案件列表", verdicts: "判定",
    rule: "规则", measured: "测量值", threshold: "阈值", message: "说明", history: "处理记录",
    map: "位置示意图", proofTitle: "区块存证", proofButton: "获取并验证存证证明", work: "处理",
    note: "说明", resolution: "办结结论", CONFIRMED: "确认违规", FALSE_ALARM: "误报",
    RECTIFIED: "限期整改完成", EVIDENCE_ACCEPTED: "证据采信", acknowledge: "受理",
    resolve: "办结", escalate: "上报指挥中心", caregiversTitle: "护理员", caregiver: "护理员",
    reason: "原因", since: "时间", actions: "操作", unfreeze: "解冻", FROZEN: "已冻结",
    ACTIVE: "正常", dashboardTitle: "街道驾驶舱", street: "街道", day: "日期", groupBy: "分组",
    provider: "服务机构", callbacksTitle: "当日电话回访", order: "工单", elder: "老人",
    result: "回访结果", commandTitle: "指挥中心：红色与上报案件", connected: "已连接，新告警将实时出现",
    reconnecting: "连接中断，正在重连…", overdue: "已超时", left: "剩余", noCases: "没有案件",
    schedule: "计划服务", checkIn: "签到", checkOut: "签退", evidence: "补充证据",
    finalStatus: "最终结论", ledgerIndex: "账本序号", elderId: "老人", caregiverId: "护理员",
    providerId: "服务机构", streetId: "街道", none: "无", verified: "验证通过",
    notVerified: "验证失败", treeSize: "树大小", root: "根哈希", home: "住址",
    gps: "GPS", beidou: "北斗", radius: "米范围", VALID: "有效", INVALID: "无效",
    CANCELLED: "已取消", CALLBACK: "回访", DENIED: "否认服务", UNREACHABLE: "未接通",
    confirmCallback: "确认服务", denyCallback: "否认服务", unreachable: "未接通",
    visitedShare: "入户率", durationMet: "时长达标率", invalidShare: "无效率",
    alertsPerDay: "告警数", casesOverdue: "超时案件", signedInAs: "已登录：",
    OPENED: "立案", ALERT_ADDED: "新告警", REOPENED: "重新立案", COMPLAINT: "投诉",
    badKey: "密钥无效或无权使用监管台", roleStreet: "街道", roleCommand: "指挥中心",
    roleAdmin: "管理员", noProof: "暂无存证（工单尚未写入账本）",
  },
  en: {
    title: "Home-care supervision desk", language: "Language", signOut: "Sign out",
    signIn: "Sign in", keyLabel: "Access key (street office, command or admin)",
    signInButton: "Sign in", keyHint: "The key is kept in this browser session only.",
    tabLive: "Live alerts", tabCases: "Cases", tabCaregivers: "Caregivers",
    tabDashboard: "Street dashboard", tabCommand: "Command", liveTitle: "Live alerts",
    casesTitle: "Cases", status: "Status", any: "Any", OPEN: "Open",
    ACKNOWLEDGED: "Acknowledged", ESCALATED: "Escalated", RESOLVED: "Resolved",
    colour: "Colour", RED: "Red", ORANGE: "Orange", YELLOW: "Yellow", community: "Community",
    overdueOnly: "Overdue only", apply: "Apply",
    casesHint: "Arrow keys move through the cases, Enter opens one.", case: "Case",
    rules: "Rules", deadline: "Deadline", back: "Back to the cases", verdicts: "Verdicts",
    rule: "Rule", measured: "Measured", threshold: "Threshold", message: "Message",
    history: "History", map: "Map", proofTitle: "Ledger proof",
    proofButton: "Fetch and verify the inclusion proof", work: "Work the case", note: "Note",
    resolution: "Resolution", CONFIRMED: "Fraud confirmed", FALSE_ALARM: "False alarm",
    RECTIFIED: "Rectified", EVIDENCE_ACCEPTED: "Evidence accepted", acknowledge: "Acknowledge",
    resolve: "Resolve", escalate: "Escalate to the command", caregiversTitle: "Caregivers",
    caregiver: "Caregiver", reason: "Reason", since: "Since", actions: "Actions",
    unfreeze: "Unfreeze", FROZEN: "Frozen", ACTIVE: "Active", dashboardTitle: "Street dashboard",
    street: "Street", day: "Day", groupBy: "Group by", provider: "Provider",
    callbacksTitle: "The day's call-backs", order: "Order", elder: "Elder", result: "Result",
    commandTitle: "Command: red and escalated cases", connected: "Connected: new alerts appear live",
    reconnecting: "Connection lost, reconnecting…", overdue: "Overdue", left: "left",
    noCases: "No cases", schedule: "Schedule", checkIn: "Check-in", checkOut: "Check-out",
    evidence: "Evidence", finalStatus: "Final status", ledgerIndex: "Ledger index",
    elderId: "Elder", caregiverId: "Caregiver", providerId: "Provider", streetId: "Street",
    none: "none", verified: "Verified", notVerified: "Not verified", treeSize: "Tree size",
    root: "Root", home: "Home", gps: "GPS", beidou: "BeiDou", radius: "m radius", VALID: "Valid",
    INVALID: "Invalid", CANCELLED: "Cancelled", CALLBACK: "Call-back", DENIED: "Denied",
    UNREACHABLE: "Unreachable", confirmCallback: "Confirmed", denyCallback: "Denied",
    unreachable: "Unreachable", visitedShare: "Visited share", durationMet: "Duration met",
    invalidShare: "Invalid share", alertsPerDay: "Alerts", casesOverdue: "Cases overdue",
    signedInAs: "Signed in: ", OPENED: "Opened", ALERT_ADDED: "Alert added",
    REOPENED: "Reopened", COMPLAINT: "Complaint", badKey: "Unknown key, or not one for the desk",
    roleStreet: "Street", roleCommand: "Command", roleAdmin: "Admin",
    noProof: "No proof yet (the order is not in the ledger)",
  },
};

const state = { lang: sessionStorage.getItem("cw-lang") || "zh", key: null, me: null,
                caseIds: [], caseId: null, reds: 0, liveAbort: null, audio: null };

function t(name) { return (TEXT[state.lang] && TEXT[state.lang][name]) || name; }
function $(id) { return document.getElementById(id); }
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}
function colour(c) { return el("span", { class: "colour " + c, text: t(c) }); }
function fmtTime(s) { return s ? s.replace("T", " ").slice(0, 16) : "—"; }

function translate() {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  document.title = t("title") + " · carewatch";
  for (const e of document.querySelectorAll("[data-i18n]")) e.textContent = t(e.dataset.i18n);
  $("lang").value = state.lang;
}

async function api(method, path, body) {
  const r = await fetch(path, { method, headers: Object.assign(
    { Authorization: "Bearer " + state.key },
    body ? { "Content-Type": "application/json" } : {}), body: body ? JSON.stringify(body) : undefined });
  const data = await r.json().catch(() => ({}));
  return { status: r.status, data };
}

/* ---- signing in -------------------------------------------------------------- */

async function signIn(key) {
  state.key = key;
  const r = await api("GET", "/v1/whoami");
  if (r.status !== 200) {
    state.key = null;
    sessionStorage.removeItem("cw-key");
    $("signin-error").textContent = t("badKey");
    return;
  }
  sessionStorage.setItem("cw-key", key);
  state.me = r.data;
  $("signin").hidden = true;
  $("tabs").hidden = false;
  $("sign-out").hidden = false;
  const role = { street: "roleStreet", command: "roleCommand", admin: "roleAdmin" }[r.data.role];
  $("who").textContent = t("signedInAs") + t(role) + (r.data.street_id ? " " + r.data.street_id : "")
    + " · " + r.data.label;
  $("tab-command").hidden = r.data.role === "street";
  if (r.data.street_id) $("dash-street").value = r.data.street_id;
  startLive();
  show("live");
}

function signOut() {
  sessionStorage.removeItem("cw-key");
  if (state.liveAbort) state.liveAbort.abort();
  location.reload();
}

/* ---- tabs -------------------------------------------------------------------- */

function show(tab) {
  for (const id of ["live", "cases", "dossier", "caregivers", "dashboard", "command"])
    $(id).hidden = id !== tab;
  for (const b of document.querySelectorAll("nav button"))
    if (b.dataset.tab === tab) b.setAttribute("aria-current", "page");
    else b.removeAttribute("aria-current");
  if (tab === "cases") loadCases();
  if (tab === "caregivers") loadCaregivers();
  if (tab === "dashboard") loadDashboard();
  if (tab === "command") loadCommand();
  if (tab === "live") { state.reds = 0; $("red-badge").hidden = true; }
}

/* ---- live alerts (Server-Sent Events read with fetch, which carries the key) ---- */

function beep() {
  try {
    state.audio = state.audio || new AudioContext();
    const o = state.audio.createOscillator(), g = state.audio.createGain();
    o.frequency.value = 880; g.gain.value = 0.1;
    o.connect(g); g.connect(state.audio.destination);
    o.start(); o.stop(state.audio.currentTime + 0.25);
  } catch (e) { /* no sound device: the badge still counts */ }
}

function onCaseEvent(msg) {
  const ev = msg.event, c = msg.case;
  if (!ev.alert && ev.action !== "ESCALATED" && ev.action !== "CALLBACK") return;
  const a = ev.alert;
  const text = a ? (state.lang === "zh" ? a.message_zh : a.message_en) : t(ev.action);
  const item = el("li", { class: c.colour, "data-case": c.case_id, "data-rule": a ? a.rule : ev.action },
    colour(c.colour), " ", el("strong", { text: c.case_id }), " · ", a ? a.rule : t(ev.action),
    " · ", text, " · ", c.street_id + "/" + c.community_id, " · ", fmtTime(ev.at));
  item.tabIndex = 0;
  item.addEventListener("click", () => openCase(c.case_id));
  item.addEventListener("keydown", (e) => { if (e.key === "Enter") openCase(c.case_id); });
  $("live-list").prepend(item);
  if (c.colour === "RED" && a && a.colour === "RED") {
    state.reds += 1;
    if ($("live").hidden) { $("red-badge").textContent = state.reds; $("red-badge").hidden = false; }
    beep();
  }
}

async function startLive() {
  state.liveAbort = new AbortController();
  for (;;) {
    try {
      const r = await fetch("/v1/live", { headers: { Authorization: "Bearer " + state.key },
                                          signal: state.liveAbort.signal });
      if (r.status !== 200) throw new Error("live " + r.status);
      $("live-status").textContent = t("connected");
      const reader = r.body.getReader(), decoder = new TextDecoder();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buf.indexOf("\n\n")) >= 0) {
          const frame = buf.slice(0, cut); buf = buf.slice(cut + 2);
          const data = frame.split("\n").filter((l) => l.startsWith("data: "))
            .map((l) => l.slice(6)).join("\n");
          if (data) onCaseEvent(JSON.parse(data));
        }
      }
    } catch (e) {
      if (state.liveAbort.signal.aborted) return;
    }
    $("live-status").textContent = t("reconnecting");
    await new Promise((ok) => setTimeout(ok, 1000));
  }
}

/* ---- cases ---------------------------------------------------------------------- */

/* Every page of a case list (the API lists oldest first), newest first,
 * and the desk's watermark. */
async function allCases(q) {
  let all = [], watermark = null;
  for (let page = 0; page < 40; page++) {
    const r = await api("GET", "/v1/cases?" + q);
    if (r.status !== 200) break;
    all = all.concat(r.data.cases);
    watermark = r.data.watermark;
    if (!r.data.next_cursor) break;
    q.set("cursor", r.data.next_cursor);
  }
  return { cases: all.reverse(), watermark };
}

function deadlineCell(c, watermark) {
  if (!c.deadline) return el("td", { text: "—" });
  if (c.overdue) return el("td", { class: "overdue", text: t("overdue") });
  const left = Date.parse(c.deadline) - Date.parse(watermark || c.updated_at);
  const td = el("td", { "data-deadline": c.deadline });
  td.textContent = isNaN(left) ? fmtTime(c.deadline) : countdown(left);
  return td;
}

function countdown(ms) {
  const m = Math.max(0, Math.round(ms / 60000));
  return (m >= 60 ? Math.floor(m / 60) + "h " : "") + (m % 60) + "m " + t("left");
}

async function loadCases() {
  const rows = $("case-rows");
  rows.replaceChildren();
  rows.setAttribute("aria-busy", "true");
  const q = new URLSearchParams({ limit: "500" });
  if ($("f-status").value) q.set("status", $("f-status").value);
  if ($("f-colour").value) q.set("colour", $("f-colour").value);
  if ($("f-overdue").checked) q.set("overdue", "true");
  const { cases: all, watermark } = await allCases(q);
  rows.replaceChildren();
  const community = $("f-community").value.trim();
  const cases = all.filter((c) => !community || c.community_id === community);
  state.caseIds = cases.map((c) => c.case_id);
  if (!cases.length) rows.append(el("tr", {}, el("td", { colspan: "6", text: t("noCases") })));
  for (const c of cases) {
    const tr = el("tr", { tabindex: "0", "data-case": c.case_id },
      el("td", { text: c.case_id }), el("td", {}, colour(c.colour)),
      el("td", { text: t(c.status) }), el("td", { text: c.rules.join(", ") }),
      el("td", { text: c.community_id }), deadlineCell(c, watermark));
    tr.addEventListener("click", () => openCase(c.case_id));
    tr.addEventListener("keydown", (e) => {
      if (e.key === "Enter") openCase(c.case_id);
      if (e.key === "ArrowDown" && tr.nextElementSibling) tr.nextElementSibling.focus();
      if (e.key === "ArrowUp" && tr.previousElementSibling) tr.previousElementSibling.focus();
    });
    rows.append(tr);
  }
  rows.removeAttribute("aria-busy");
}

/* ---- a case's dossier ---------------------------------------------------------- */

function fact(dl, name, value) { dl.append(el("dt", { text: t(name) }), el("dd", { text: value })); }

async function openCase(id) {
  const r = await api("GET", "/v1/cases/" + encodeURIComponent(id));
  if (r.status !== 200) return;
  const c = r.data;
  state.caseId = id;
  show("dossier");
  $("dossier-title").replaceChildren(colour(c.colour), " " + t("case") + " " + c.case_id +
                                     " · " + t(c.status));
  const dl = $("dossier-facts");
  dl.replaceChildren();
  fact(dl, "streetId", c.street_id + " / " + c.community_id);
  fact(dl, "elderId", c.elder_id);
  fact(dl, "caregiverId", c.caregiver_id);
  fact(dl, "providerId", c.provider_id);
  const v = c.visit;
  if (v) {
    fact(dl, "schedule", fmtTime(v.scheduled_start) + " · " + (v.scheduled_minutes || "?") +
         " min · " + (v.service_type || ""));
    fact(dl, "checkIn", v.check_in ? fmtTime(v.check_in.at) : "—");
    fact(dl, "checkOut", v.check_out ? fmtTime(v.check_out.at) : "—");
    fact(dl, "evidence", v.evidence ? fmtTime(v.evidence.at) : t("none"));
  }
  fact(dl, "deadline", c.deadline ? fmtTime(c.deadline) : "—");
  if (c.order) {
    fact(dl, "finalStatus", t(c.order.status) + (c.order.reasons.length ? " · " +
         c.order.reasons.join(", ") : ""));
    fact(dl, "ledgerIndex", "#" + c.order.ledger_index);
  }
  const vr = $("verdict-rows");
  vr.replaceChildren();
  for (const a of c.alert_list)
    vr.append(el("tr", {}, el("td", { text: a.rule }), el("td", {}, colour(a.colour)),
      el("td", { text: a.measured == null ? "—" : String(Math.round(a.measured * 10) / 10) }),
      el("td", { text: a.threshold == null ? "—" : String(a.threshold) }),
      el("td", { text: state.lang === "zh" ? a.message_zh : a.message_en })));
  const h = $("history");
  h.replaceChildren();
  for (const e of c.events)
    h.append(el("li", { text: fmtTime(e.at) + " · " + t(e.action) + " · " + e.actor +
                        (e.note ? " · " + e.note : "") + (e.resolution ? " · " + t(e.resolution) : "") }));
  drawMap(v);
  $("proof").replaceChildren();
  $("proof-button").disabled = !c.order;
  $("deed-error").textContent = "";
}

/* The elder's home, the rule's circle and the fixes, drawn to scale in
 * metres around the home (no tile server). */
function drawMap(v) {
  const box = $("map");
  box.replaceChildren();
  if (!v || !v.home) { box.textContent = t("none"); box.setAttribute("aria-label", t("none")); return; }
  const home = v.home, fixes = [];
  for (const [name, f] of [["checkIn", v.check_in], ["checkOut", v.check_out]]) {
    if (!f) continue;
    fixes.push({ label: t(name) + " " + t("gps"), lat: f.gps.lat, lon: f.gps.lon, kind: "gps" });
    if (f.beidou) fixes.push({ label: t(name) + " " + t("beidou"), lat: f.beidou.lat,
                               lon: f.beidou.lon, kind: "beidou" });
  }
  const mPerDegLat = 111320, mPerDegLon = 111320 * Math.cos(home.lat * Math.PI / 180);
  const pts = fixes.map((f) => Object.assign(f, { x: (f.lon - home.lon) * mPerDegLon,
                                                  y: (f.lat - home.lat) * mPerDegLat }));
  const extent = Math.max(home.radius_m * 1.6, ...pts.map((p) => Math.hypot(p.x, p.y) * 1.2), 50);
  const size = 400, scale = size / 2 / extent, cx = size / 2, cy = size / 2;
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 " + size + " " + size);
  const add = (tag, attrs, text) => {
    const e = document.createElementNS(ns, tag);
    for (const [k, val] of Object.entries(attrs)) e.setAttribute(k, val);
    if (text) e.textContent = text;
    svg.append(e);
    return e;
  };
  add("circle", { cx, cy, r: home.radius_m * scale, fill: "#c8e6c9", stroke: "#1b5e20",
                  "stroke-dasharray": "4 3", class: "radius" });
  add("rect", { x: cx - 6, y: cy - 6, width: 12, height: 12, fill: "#1b5e20", class: "home" });
  add("text", { x: cx + 9, y: cy - 8, "font-size": 12 }, t("home"));
  for (const p of pts) {
    const x = cx + p.x * scale, y = cy - p.y * scale;
    add(p.kind === "gps" ? "circle" : "rect", p.kind === "gps"
      ? { cx: x, cy: y, r: 6, fill: "#0b57d0", class: "fix gps" }
      : { x: x - 5, y: y - 5, width: 10, height: 10, fill: "#a14a00", class: "fix beidou" });
    add("text", { x: x + 8, y: y + 4, "font-size": 11 },
        p.label + " " + Math.round(Math.hypot(p.x, p.y)) + " m");
  }
  const bar = Math.pow(10, Math.floor(Math.log10(extent / 2)));
  add("line", { x1: 10, y1: size - 12, x2: 10 + bar * scale, y2: size - 12, stroke: "#1c1b1f",
                "stroke-width": 2 });
  add("text", { x: 12, y: size - 16, "font-size": 11 }, bar + " m");
  box.setAttribute("aria-label", t("map") + ": " + home.radius_m + " " + t("radius") + ", " +
                   fixes.length + " fixes");
  box.append(svg);
}

async function showProof() {
  const r = await api("GET", "/v1/cases/" + encodeURIComponent(state.caseId));
  const order = r.data.order;
  const box = $("proof");
  if (!order) { box.textContent = t("noProof"); return; }
  const p = await api("GET", "/v1/orders/" + encodeURIComponent(order.order_id) + "/proof");
  if (p.status !== 200) { box.textContent = t("noProof") + " (" + (p.data.message || p.status) + ")"; return; }
  const proof = p.data.proof;
  box.replaceChildren(
    el("p", { class: p.data.verified ? "ok" : "error", "data-verified": String(p.data.verified),
              text: (p.data.verified ? "✓ " + t("verified") : "✗ " + t("notVerified")) }),
    el("p", { text: p.data.message }),
    el("p", { text: t("ledgerIndex") + " #" + proof.leaf_index + " · " + t("treeSize") + " " +
                    proof.tree_size + " · " + proof.hash_alg }),
    el("p", { text: t("root") + " " + proof.root_hash }));
}

async function deed(kind) {
  const body = { note: $("deed-note").value };
  if (kind === "resolve") body.resolution = $("deed-resolution").value;
  const r = await api("POST", "/v1/cases/" + encodeURIComponent(state.caseId) + "/" + kind, body);
  if (r.status !== 200) { $("deed-error").textContent = r.data.message || String(r.status); return; }
  $("deed-note").value = "";
  await openCase(state.caseId);
}

/* ---- caregivers ------------------------------------------------------------------ */

async function loadCaregivers() {
  const r = await api("GET", "/v1/caregivers");
  const rows = $("caregiver-rows");
  rows.replaceChildren();
  for (const c of r.data.caregivers || []) {
    const action = el("td");
    if (state.me.role === "admin" && c.status === "FROZEN") {
      const b = el("button", { type: "button", text: t("unfreeze") + " " + c.caregiver_id });
      b.addEventListener("click", async () => {
        const u = await api("POST", "/v1/caregivers/" + encodeURIComponent(c.caregiver_id) +
                            "/unfreeze", { reason: "unfrozen at the supervision desk" });
        $("caregiver-error").textContent = u.status === 202 ? "" : (u.data.message || u.status);
        setTimeout(loadCaregivers, 1000);
      });
      action.append(b);
    }
    rows.append(el("tr", { "data-caregiver": c.caregiver_id },
      el("td", { text: c.caregiver_id }), el("td", { text: t(c.status) }),
      el("td", { text: c.reason }), el("td", { text: fmtTime(c.at) }), action));
  }
}

/* ---- the street dashboard ---------------------------------------------------------- */

function barChart(title, rows, value, fmt) {
  const ns = "http://www.w3.org/2000/svg", w = 320, bh = 22, h = rows.length * bh + 10;
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 " + w + " " + Math.max(h, 30));
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", title);
  const max = Math.max(1e-9, ...rows.map(value));
  rows.forEach((r, i) => {
    const v = value(r), y = 5 + i * bh;
    const label = document.createElementNS(ns, "text");
    label.setAttribute("x", 0); label.setAttribute("y", y + 15); label.setAttribute("font-size", 12);
    label.textContent = r.key;
    const bar = document.createElementNS(ns, "rect");
    bar.setAttribute("x", 90); bar.setAttribute("y", y + 3);
    bar.setAttribute("width", Math.max(1, (w - 150) * v / max)); bar.setAttribute("height", bh - 8);
    bar.setAttribute("fill", "#20304a");
    const num = document.createElementNS(ns, "text");
    num.setAttribute("x", 94 + (w - 150) * v / max); num.setAttribute("y", y + 15);
    num.setAttribute("font-size", 12); num.textContent = fmt(v);
    svg.append(label, bar, num);
  });
  return el("div", { class: "chart" }, el("h4", { text: title }), svg);
}

async function loadDashboard() {
  if (!$("dash-day").value) return;
  const street = $("dash-street").value.trim(), day = $("dash-day").value, by = $("dash-by").value;
  const q = new URLSearchParams({ by, from: day, to: day });
  if (street) q.set("street_id", street);
  const r = await api("GET", "/v1/stats?" + q);
  const rows = (r.data.rows || []).map((x) => Object.assign(x, { key: x[by] }));
  const pct = (v) => Math.round(v * 100) + "%";
  $("charts").replaceChildren(
    barChart(t("visitedShare"), rows, (x) => x.visited_share || 0, pct),
    barChart(t("durationMet"), rows, (x) => x.duration_met_share || 0, pct),
    barChart(t("invalidShare"), rows, (x) => x.invalid_share || 0, pct),
    barChart(t("alertsPerDay"), rows, (x) => x.alerts.red + x.alerts.orange + x.alerts.yellow, String),
    barChart(t("casesOverdue"), rows, (x) => x.cases.overdue || x.overdue || 0, String));
  const cb = await api("GET", "/v1/callbacks?" + new URLSearchParams(
    Object.assign({ day }, street ? { street_id: street } : {})));
  const body = $("callback-rows");
  body.replaceChildren();
  for (const o of cb.data.callbacks || []) {
    const cell = el("td");
    for (const [result, label] of [["CONFIRMED", "confirmCallback"], ["DENIED", "denyCallback"],
                                   ["UNREACHABLE", "unreachable"]]) {
      const b = el("button", { type: "button", text: t(label) });
      b.addEventListener("click", async () => {
        await api("POST", "/v1/callbacks/" + encodeURIComponent(o.order_id), { result });
        loadDashboard();
      });
      cell.append(b, " ");
    }
    body.append(el("tr", {}, el("td", { text: o.order_id }), el("td", { text: o.elder_id }),
      el("td", { text: o.caregiver_id }),
      el("td", { text: o.callback ? t(o.callback.callback_result) : "—" }), cell));
  }
}

/* ---- the command view -------------------------------------------------------------- */

async function loadCommand() {
  const q = new URLSearchParams({ attention: "true", limit: "500" });
  const { cases: all } = await allCases(q);
  const byStreet = {};
  for (const c of all) (byStreet[c.street_id] = byStreet[c.street_id] || []).push(c);
  const box = $("command-streets");
  box.replaceChildren();
  for (const street of Object.keys(byStreet).sort()) {
    const list = el("ul");
    for (const c of byStreet[street]) {
      const b = el("button", { type: "button", text: c.case_id });
      b.addEventListener("click", () => openCase(c.case_id));
      list.append(el("li", {}, colour(c.colour), " ", b, " · " + t(c.status) + " · " + c.rules.join(", ")));
    }
    box.append(el("div", { class: "street-block" },
                  el("h3", { text: street + " (" + byStreet[street].length + ")" }), list));
  }
}

/* The open view drawn again in the chosen language. */
function rerender() {
  if (!state.me) return;
  if (!$("dossier").hidden && state.caseId) { openCase(state.caseId); return; }
  const current = document.querySelector("nav button[aria-current=page]");
  if (current && current.dataset.tab !== "live") show(current.dataset.tab);
}

/* ---- wiring ------------------------------------------------------------------------ */

document.addEventListener("DOMContentLoaded", () => {
  translate();
  $("lang").addEventListener("change", () => {
    state.lang = $("lang").value;
    sessionStorage.setItem("cw-lang", state.lang);
    translate();
    rerender();
  });
  $("signin-form").addEventListener("submit", (e) => { e.preventDefault(); signIn($("key").value); });
  $("sign-out").addEventListener("click", signOut);
  for (const b of document.querySelectorAll("nav button")) b.addEventListener("click", () => show(b.dataset.tab));
  $("case-filters").addEventListener("submit", (e) => { e.preventDefault(); loadCases(); });
  $("dash-form").addEventListener("submit", (e) => { e.preventDefault(); loadDashboard(); });
  $("back").addEventListener("click", () => show("cases"));
  $("proof-button").addEventListener("click", showProof);
  $("do-acknowledge").addEventListener("click", () => deed("acknowledge"));
  $("do-resolve").addEventListener("click", () => deed("resolve"));
  $("do-escalate").addEventListener("click", () => deed("escalate"));
  const saved = sessionStorage.getItem("cw-key");
  if (saved) signIn(saved);
});
