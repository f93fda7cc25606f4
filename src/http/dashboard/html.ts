/**
 * The dashboard's only HTML page: a header, an empty `<main>` that app.js fills (instance list or
 * instance page, chosen by the URL's hash), the key form and the confirmation dialog. No inline
 * script or style, so the Content-Security-Policy can forbid both.
 */

/** The page served at `/` and `/dashboard/`. */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Refrain dashboard</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/dashboard/app.css">
<script type="module" src="/dashboard/app.js"></script>
</head>
<body>
<header class="top">
  <a class="brand" href="#/">Refrain</a>
  <span id="hub" class="muted"></span>
  <span class="spacer"></span>
  <button type="button" id="forget-key" hidden>Forget key</button>
</header>
<form id="key-form" class="card" hidden>
  <h2>Access key</h2>
  <p>This server requires a key. It is kept for this browser tab only and sent as <code>x-refrain-key</code>.</p>
  <label>Key <input id="key-input" type="password" autocomplete="off" required></label>
  <button type="submit">Use key</button>
</form>
<div id="error" class="error" role="alert" hidden></div>
<main id="main"></main>
<dialog id="confirm">
  <form method="dialog" id="confirm-form">
    <h2 id="confirm-title"></h2>
    <p id="confirm-text"></p>
    <div id="confirm-fields"></div>
    <p id="confirm-error" class="error" hidden></p>
    <div class="buttons">
      <button type="button" id="confirm-cancel">Cancel</button>
      <button type="submit" id="confirm-ok" class="primary">Confirm</button>
    </div>
  </form>
</dialog>
</body>
</html>
`;
