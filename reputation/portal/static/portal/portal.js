// Every htmx request that changes something carries the page's CSRF token as a header.
document.addEventListener("htmx:configRequest", function (event) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) {
    event.detail.headers["X-CSRFToken"] = meta.content;
  }
});

// The copy button beside a secret shown once (portal/_secret.html): it puts the secret on the
// clipboard and then reads "Copied", which its status says aloud. Where the browser refuses the
// clipboard (only secure contexts have it), the secret is selected for the keyboard's own copy
// and the button says so. The page hides the button until this script runs, so that nobody
// presses a button that does nothing yet.
document.querySelectorAll("button[data-copy]").forEach(function (button) {
  var source = document.getElementById(button.dataset.copy);
  var status = document.getElementById(button.dataset.copyStatus);
  function say(words) {
    button.textContent = words;
    if (status) {
      status.textContent = words;
    }
  }
  function refused() {
    source.focus();
    source.select();
    say(button.dataset.copyFailed);
  }
  button.addEventListener("click", function () {
    if (!navigator.clipboard) {
      refused();
      return;
    }
    navigator.clipboard.writeText(source.value).then(function () {
      say(button.dataset.copied);
    }, refused);
  });
  button.hidden = false;
});
