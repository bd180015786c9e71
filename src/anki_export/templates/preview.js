// The preview page: Anki's night-mode classes on a switch (or #night in the URL), and images
// that fail to load outlined, so a broken one stands out before it reaches Anki.
const night = document.getElementById("ae-night");
function setNight(on) {
  document.body.classList.toggle("nightMode", on);
  document.body.classList.toggle("night_mode", on);
  night.checked = on;
}
night.addEventListener("change", () => {
  setNight(night.checked);
  history.replaceState(null, "", night.checked ? "#night" : "#");
});
setNight(location.hash === "#night");
for (const img of document.images) {
  const check = () => img.classList.toggle("ae-preview-broken", img.naturalWidth === 0);
  if (img.complete) check(); else img.addEventListener("load", check);
  img.addEventListener("error", check);
}
