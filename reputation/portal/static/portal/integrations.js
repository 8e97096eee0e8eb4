// Webhooks, imports and exports. A secret shown once has a copy button: the secret goes to the
// clipboard and the button's status line says whether it did. Without this script the field is
// still there to select and copy by hand, so the button stays hidden.
document.querySelectorAll("button[data-copy]").forEach(function (button) {
  var field = document.getElementById(button.dataset.copy);
  var status = document.getElementById(button.dataset.copyStatus);
  button.hidden = false;
  button.addEventListener("click", function () {
    field.select();
    var failed = function () {
      status.textContent = button.dataset.copyFailed;
    };
    if (!navigator.clipboard) {
      failed(); // only secure contexts (HTTPS, or this machine) have the Clipboard API
      return;
    }
    navigator.clipboard.writeText(field.value).then(function () {
      status.textContent = button.dataset.copied;
    }, failed);
  });
});
