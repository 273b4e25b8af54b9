// Bank search on the bank choice (progressive enhancement: the page works without it).
(function () {
  var input = document.getElementById('bank-search');
  var list = document.getElementById('bank-list');
  var all = document.getElementById('show-all');
  if (!input || !list) return;
  // The list starts with the first FEW banks; "Mostrar todos" is offered
  // only while some bank is hidden (a long list, or a search), and shows
  // every bank.
  var FEW = 6, expanded = false;
  function filter(q) {
    q = q.trim().toLowerCase();
    var hidden = 0;
    Array.prototype.forEach.call(list.children, function (li, i) {
      li.hidden = q !== '' ? li.textContent.toLowerCase().indexOf(q) < 0 : (!expanded && i >= FEW);
      if (li.hidden) hidden++;
    });
    if (all) {
      all.hidden = hidden === 0;
      all.textContent = 'Mostrar todos (' + list.children.length + ')';
    }
  }
  input.addEventListener('input', function () { filter(input.value); });
  if (all) all.addEventListener('click', function () { expanded = true; input.value = ''; filter(''); input.focus(); });
  filter('');
})();
