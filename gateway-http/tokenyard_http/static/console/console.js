// tokenyard console: copy buttons (the only script every page needs).
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const input = document.getElementById(button.dataset.copy);
  const status = button.parentElement.querySelector(".copied");
  try {
    await navigator.clipboard.writeText(input.value);
    if (status) status.textContent = "Copied.";
  } catch (err) {
    input.select();
    if (status) status.textContent = "Selected: press Ctrl+C to copy.";
  }
});
