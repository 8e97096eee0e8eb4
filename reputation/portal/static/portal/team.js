// The copy button beside a secret shown once: it puts the secret on the clipboard and says so.
// Where the browser refuses the clipboard, the secret is selected for the keyboard's own copy.
// The page hides the button until this script runs, so that nobody presses a button that does
// nothing yet.
document.querySelectorAll("button[data-copy]").forEach(function (button) {
  var source = document.getElementById(button.dataset.copy);
  function refused() {
    source.focus();
    source.select();
    button.textContent = button.dataset.refused;
  }
  button.addEventListener("click", function () {
    if (!navigator.clipboard) {
      refused();
      return;
    }
    navigator.clipboard.writeText(source.value).then(function () {
      button.textContent = button.dataset.copied;
    }, refused);
  });
  button.hidden = false;
});
