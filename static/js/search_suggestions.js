// Suggestions while typing: under a search box that asks for them (data-suggest-url), the titles
// of the best-ranked matches of what is typed so far — pinyin and other names included, as the
// search ranks them — each a link to its product. Escape or leaving the box closes the list.
// Without JavaScript the box is a plain search box.
(function () {
  if (!window.fetch) { return; }
  document.querySelectorAll("input[data-suggest-url]").forEach(function (box, number) {
    var list = document.createElement("ul");
    list.className = "search-suggestions";
    list.id = "search-suggestions-" + number;
    list.hidden = true;
    list.setAttribute("aria-label", box.getAttribute("data-suggest-label"));
    box.setAttribute("aria-controls", list.id);
    box.insertAdjacentElement("afterend", list);
    box.parentElement.classList.add("suggesting");
    var timer = null;
    var shown = "";

    function show(text, suggestions) {
      if (box.value.trim() !== text) { return; }  // typed on meanwhile: a newer answer follows
      shown = text;
      list.replaceChildren.apply(list, suggestions.map(function (suggestion) {
        var item = document.createElement("li");
        var link = document.createElement("a");
        link.href = suggestion.url;
        link.textContent = suggestion.title;
        item.appendChild(link);
        return item;
      }));
      list.hidden = suggestions.length === 0;
    }

    function ask() {
      var text = box.value.trim();
      if (!text) { list.hidden = true; shown = ""; return; }
      if (text === shown) { list.hidden = list.children.length === 0; return; }
      fetch(box.getAttribute("data-suggest-url") + "?q=" + encodeURIComponent(text),
            {headers: {Accept: "application/json"}, credentials: "same-origin"})
        .then(function (response) { return response.ok ? response.json() : {suggestions: []}; })
        .then(function (answer) { show(text, answer.suggestions || []); })
        .catch(function () { list.hidden = true; });
    }

    box.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(ask, 150);
    });
    box.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { list.hidden = true; }
      if (event.key === "ArrowDown" && !list.hidden && list.firstChild) {
        event.preventDefault();
        list.firstChild.firstChild.focus();
      }
    });
    list.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { list.hidden = true; box.focus(); }
    });
    // Closed when the focus leaves both the box and the list (a tap on a link still follows it).
    box.parentElement.addEventListener("focusout", function () {
      setTimeout(function () {
        if (!box.parentElement.contains(document.activeElement)) { list.hidden = true; }
      }, 200);
    });
  });
})();
