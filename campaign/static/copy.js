// "Chép" buttons: copy the message of the textarea they name (data-copy="id"), so an
// organiser can paste it in Zalo or an SMS. Without JavaScript the text stays selectable.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const area = document.getElementById(button.dataset.copy);
  if (!area) return;
  area.select();
  const done = () => {
    const label = button.textContent;
    button.textContent = button.dataset.copied || label;
    setTimeout(() => { button.textContent = label; }, 2000);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(area.value).then(done, () => document.execCommand("copy") && done());
  } else if (document.execCommand("copy")) {
    done();
  }
});
document.querySelectorAll("button[data-copy]").forEach((button) => { button.hidden = false; });
