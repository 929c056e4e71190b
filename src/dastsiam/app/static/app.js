// dastsiam app page: open or upload a video, drag the box on frame 1, track (progress, live preview, cancel),
// then scrub through the result with its score plot, redraw the box or change the model and track again.
// Frames are numbered from 1 everywhere on the page; the API's frame URLs count from 0.
"use strict";
const token = new URLSearchParams(location.search).get("token") || "";
const $ = (id) => document.getElementById(id);
const canvas = $("view"), ctx = canvas.getContext("2d");
const plot = $("plot"), pctx = plot.getContext("2d");
const LOW_SCORE = 0.2;  // below it the tracker is not sure of its box (dastsiam.api.DEFAULT_MIN_SCORE)

let video = null;       // the open video's info (id, name, width, height, fps, frames)
let first = null;       // its first frame (an Image)
let box = null;         // the box drawn on the first frame, image pixels [x, y, w, h]
let drag = null;        // where a drag started
let mode = "none";      // none | pick | running | result
let run = null;         // the latest run: {boxes, scores, state, total, model, fps}
let playing = false, frame = 0, timer = null, previewing = false;

function say(text, error) { $("message").textContent = text; $("message").className = error ? "error" : ""; }

function setMode(next) {
  mode = next;
  canvas.dataset.mode = next;
  $("pick").classList.toggle("hidden", next === "none");
  $("running").classList.toggle("hidden", next !== "running");
  $("result").classList.toggle("hidden", next !== "result");
  $("track").disabled = next !== "pick" || !box;
  $("model").disabled = next === "running";
}

async function api(method, path, body, headers) {
  const response = await fetch("/api/" + path, {method, body, headers: Object.assign({"X-Token": token}, headers || {})});
  const data = await response.json().catch(() => ({error: response.statusText || `HTTP ${response.status}`}));
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function frameUrl(i) { return `/api/frame/${video.id}/${i}.jpg?token=${encodeURIComponent(token)}`; }

function loadImage(url) {
  return new Promise((resolve, reject) => {
    const im = new Image(); im.onload = () => resolve(im); im.onerror = reject; im.src = url;
  });
}

function drawBox(b, colour, label) {
  ctx.lineWidth = Math.max(2, canvas.width / 320);
  ctx.strokeStyle = colour;
  ctx.strokeRect(b[0], b[1], b[2], b[3]);
  canvas.dataset.label = label || "";
  if (label) {
    ctx.font = `${Math.max(14, canvas.width / 40)}px sans-serif`;
    ctx.fillStyle = "rgba(0,0,0,.6)";
    ctx.fillRect(4, 4, ctx.measureText(label).width + 12, Math.max(22, canvas.width / 28));
    ctx.fillStyle = "#ffeb3b";
    ctx.fillText(label, 10, Math.max(20, canvas.width / 32));
  }
}

function paint(image) {  // playback frames are stored smaller than the video: scale them back to its pixels
  if (canvas.width !== video.width || canvas.height !== video.height) { canvas.width = video.width; canvas.height = video.height; }
  ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
}

function redrawPick() {
  if (!first) return;
  paint(first);
  canvas.dataset.frame = "1";
  if (box) drawBox(box, "#00e676", "frame 1");
  else canvas.dataset.label = "frame 1";
}

// ------------------------------------------------------------------ opening a video
async function opened(info) {
  if (video && video.id !== info.id) api("POST", `close/${video.id}`).catch(() => {});  // frees its frames and upload
  stop();
  video = info; box = null; run = null;
  $("result").dataset.ready = "";
  first = await loadImage(frameUrl(0));
  redrawPick();
  $("videoinfo").textContent = `${info.name}: ${info.width}x${info.height}, ${info.frames ?? "?"} frames, ${info.fps.toFixed(1)} fps`;
  $("box").textContent = "(none yet)";
  setMode("pick");
  say("Drag a box around the target on the first frame, then press Track.");
}

$("open").onclick = async () => {
  say("Opening...");
  try { await opened(await api("POST", "open", JSON.stringify({path: $("path").value}), {"Content-Type": "application/json"})); }
  catch (e) { say(e.message, true); }
};

$("upload").onchange = async () => {
  const file = $("upload").files[0];
  if (!file) return;
  say(`Uploading ${file.name}...`);
  // header values must be Latin-1: the name travels percent-encoded (UTF-8), the server decodes it
  try { await opened(await api("POST", "upload", file, {"X-Filename": encodeURIComponent(file.name), "Content-Type": "application/octet-stream"})); }
  catch (e) { say(e.message, true); }
  $("upload").value = "";
};

// ------------------------------------------------------------------ drawing the box
function imagePoint(event) {
  const r = canvas.getBoundingClientRect();
  const x = (event.clientX - r.left) * canvas.width / r.width, y = (event.clientY - r.top) * canvas.height / r.height;
  return [Math.min(Math.max(x, 0), canvas.width), Math.min(Math.max(y, 0), canvas.height)];
}

function boxFrom(p) { return [Math.min(drag[0], p[0]), Math.min(drag[1], p[1]), Math.abs(p[0] - drag[0]), Math.abs(p[1] - drag[1])]; }

canvas.addEventListener("mousedown", (e) => { if (mode === "pick" && first) drag = imagePoint(e); });
canvas.addEventListener("mousemove", (e) => { if (drag) { box = boxFrom(imagePoint(e)); redrawPick(); } });
window.addEventListener("mouseup", (e) => {
  if (!drag) return;
  box = boxFrom(imagePoint(e));
  drag = null;
  if (box[2] < 4 || box[3] < 4) { box = null; $("box").textContent = "(none yet)"; say("That box is too small: drag a bigger one.", true); }
  else { box = box.map((v) => Math.round(v * 10) / 10); $("box").textContent = box.join(", "); say("Press Track."); }
  $("track").disabled = !box;
  redrawPick();
});

// ------------------------------------------------------------------ tracking: progress, live preview, cancel
$("track").onclick = async () => {
  if (!box || mode !== "pick") return;
  $("track").disabled = true;
  stop();
  let status;
  try {
    status = await api("POST", `track/${video.id}`, JSON.stringify({box, model: $("model").value}), {"Content-Type": "application/json"});
  } catch (e) { say(e.message, true); $("track").disabled = false; return; }
  run = {boxes: [], scores: [], state: "running", total: status.total || video.frames || 0, model: status.model, fps: 0, run: status.run};
  $("result").dataset.ready = "";
  $("progress").max = Math.max(run.total, 1); $("progress").value = 0;
  $("progresstext").textContent = "loading the model...";
  setMode("running");
  say(`Tracking with ${run.model}...`);
  drawPlot();
  poll(run);
};

$("cancel").onclick = async () => {
  if (!video || mode !== "running") return;
  $("cancel").disabled = true;
  try { await api("POST", `cancel/${video.id}`); } catch (e) { say(e.message, true); }
};

function clock(seconds) {
  const s = Math.round(seconds);
  return s >= 60 ? `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s` : `${s} s`;
}

async function poll(current) {
  if (current !== run) return;  // a newer run took over
  let data;
  try { data = await api("GET", `result/${video.id}?from=${current.boxes.length}`); }
  catch (e) { say(e.message, true); setMode("pick"); return; }
  if (current !== run || data.run !== current.run) return;
  current.boxes.push(...data.boxes); current.scores.push(...data.scores);
  current.state = data.state; current.fps = data.fps; current.model = data.model;
  if (data.total) current.total = data.total;
  const done = current.boxes.length;
  $("progress").max = Math.max(current.total || done, 1);
  $("progress").value = done;
  const left = data.eta != null ? ` · ${clock(data.eta)} left` : "";
  $("progresstext").textContent = `${done} / ${current.total || "?"} frames · ${data.fps.toFixed(1)} fps${left}`;
  drawPlot();
  if (done > 0) preview(done - 1);
  if (data.state === "running") { setTimeout(() => poll(current), 250); return; }
  $("cancel").disabled = false;
  if (data.state === "error") { say(data.error, true); setMode("pick"); redrawPick(); return; }
  finished(data);
}

async function preview(i) {  // the newest tracked frame, one at a time (skipped while the previous one loads)
  if (previewing || mode !== "running") return;
  previewing = true;
  try {
    const image = await loadImage(frameUrl(i));
    if (mode === "running") drawFrame(image, i, `frame ${i + 1} / ${run.total || "?"}`);
  } catch (e) { /* the next poll shows a newer frame */ }
  previewing = false;
}

function finished(data) {
  const n = run.boxes.length;
  if (n === 0) { say("Cancelled before the first frame.", true); setMode("pick"); redrawPick(); return; }
  const q = `?token=${encodeURIComponent(token)}&run=${run.run}`;
  $("dl-boxes").href = `/api/download/${video.id}/boxes.txt${q}`;
  $("dl-video").href = `/api/download/${video.id}/tracked.mp4${q}`;
  $("scrubber").max = String(n); $("scrubber").value = "1";
  setMode("result");
  $("result").dataset.ready = "1";
  $("result").dataset.state = data.state;
  $("result").dataset.run = String(run.run);
  if (data.state === "cancelled") say(`Cancelled: ${n} of ${run.total || "?"} frames tracked with ${run.model} (kept; download them below).`);
  else say(`Tracked ${n} frames with ${run.model} at ${data.fps} fps. Playing the result.`);
  drawPlot();
  frame = 0; play();
}

// ------------------------------------------------------------------ the result: playback, scrubber, score plot
function drawFrame(image, i, label) {
  paint(image);
  const score = run.scores[i];
  drawBox(run.boxes[i], score >= LOW_SCORE ? "#00e676" : "#ff5252", `${label}  score ${score.toFixed(2)}`);
  canvas.dataset.frame = String(i + 1);
}

async function showFrame(i) {
  const image = await loadImage(frameUrl(i));
  if (mode !== "result") return;
  const n = run.boxes.length, score = run.scores[i];
  drawFrame(image, i, `frame ${i + 1} / ${n}`);
  $("playinfo").textContent = `frame ${i + 1} / ${n}   score ${score.toFixed(3)}`;
  $("playinfo").dataset.frame = String(i + 1);
  $("playinfo").dataset.score = String(score);
  $("scrubber").value = String(i + 1);
  drawPlot(i);
}

function stop() { playing = false; if (timer) clearTimeout(timer); timer = null; }

async function play() {
  if (!run || mode !== "result") return;
  stop(); playing = true;
  const delay = 1000 / Math.min(Math.max(video.fps || 25, 1), 60);
  const n = run.boxes.length;
  const step = async () => {
    if (!playing) return;
    const started = performance.now();
    try { await showFrame(frame); } catch (e) { say(`cannot load frame ${frame + 1}`, true); stop(); return; }
    if (frame + 1 >= n) { playing = false; return; }
    frame += 1;
    timer = setTimeout(step, Math.max(0, delay - (performance.now() - started)));
  };
  if (frame >= n - 1) frame = 0;
  step();
}

function seek(i) {
  if (!run || mode !== "result") return;
  stop();
  frame = Math.min(Math.max(i, 0), run.boxes.length - 1);
  showFrame(frame).catch(() => say(`cannot load frame ${frame + 1}`, true));
}

$("play").onclick = play;
$("pause").onclick = stop;
$("scrubber").addEventListener("input", () => seek(Number($("scrubber").value) - 1));
$("redraw").onclick = () => {
  stop();
  setMode("pick");
  redrawPick();
  say("Drag a new box on the first frame (or keep this one), choose a model, and press Track: no re-upload needed.");
};

const PLOT = {left: 34, right: 8, top: 8, bottom: 20};

function plotX(i, total) { return PLOT.left + (plot.width - PLOT.left - PLOT.right) * (total > 1 ? i / (total - 1) : 0); }
function plotY(score) { return plot.height - PLOT.bottom - (plot.height - PLOT.top - PLOT.bottom) * Math.min(Math.max(score, 0), 1); }

function drawPlot(cursor) {  // score over frames: where it dips, the tracker lost confidence
  const w = plot.width, h = plot.height;
  pctx.clearRect(0, 0, w, h);
  pctx.font = "11px sans-serif"; pctx.fillStyle = "#555"; pctx.strokeStyle = "#ddd"; pctx.lineWidth = 1;
  for (const s of [0, 0.5, 1]) {
    const y = plotY(s);
    pctx.beginPath(); pctx.moveTo(PLOT.left, y); pctx.lineTo(w - PLOT.right, y); pctx.stroke();
    pctx.fillText(s.toFixed(1), 4, y + 4);
  }
  pctx.strokeStyle = "#ff8a80"; pctx.setLineDash([4, 4]);
  pctx.beginPath(); pctx.moveTo(PLOT.left, plotY(LOW_SCORE)); pctx.lineTo(w - PLOT.right, plotY(LOW_SCORE)); pctx.stroke();
  pctx.setLineDash([]);
  if (!run) { plot.dataset.points = "0"; return; }
  const scores = run.scores, total = Math.max(mode === "result" ? scores.length : (run.total || scores.length), 1);
  pctx.fillStyle = "#555";
  pctx.fillText("frame 1", PLOT.left, h - 5);
  const last = `frame ${total}`;
  pctx.fillText(last, w - PLOT.right - pctx.measureText(last).width, h - 5);
  pctx.strokeStyle = "#1565c0"; pctx.lineWidth = 2;
  pctx.beginPath();
  scores.forEach((s, i) => { const x = plotX(i, total), y = plotY(s); if (i) pctx.lineTo(x, y); else pctx.moveTo(x, y); });
  pctx.stroke();
  plot.dataset.points = String(scores.length);
  if (cursor != null) {
    pctx.strokeStyle = "#222"; pctx.lineWidth = 1;
    const x = plotX(cursor, total);
    pctx.beginPath(); pctx.moveTo(x, PLOT.top); pctx.lineTo(x, h - PLOT.bottom); pctx.stroke();
  }
}

plot.addEventListener("click", (e) => {
  if (!run || mode !== "result") return;
  const r = plot.getBoundingClientRect(), x = (e.clientX - r.left) * plot.width / r.width;
  const n = run.boxes.length;
  seek(Math.round((x - PLOT.left) / (plot.width - PLOT.left - PLOT.right) * (n - 1)));
});

(async () => {
  drawPlot();
  try {
    const {models} = await api("GET", "models");
    for (const m of models) { const o = document.createElement("option"); o.value = o.textContent = m; $("model").appendChild(o); }
  } catch (e) { say(e.message, true); }
  say("Open a video on this machine or upload one.");
})();
