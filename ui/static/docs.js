/* A minimal, offline renderer of /openapi.json (text only, no innerHTML). */
(function () {
  "use strict";
  var out = document.getElementById("ops");
  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text != null) n.textContent = text;
    return n;
  }
  function resolve(spec, schema) {
    if (schema && schema.$ref) {
      var name = schema.$ref.split("/").pop();
      return spec.components.schemas[name] || {};
    }
    return schema || {};
  }
  function example(spec, schema, depth) {
    schema = resolve(spec, schema);
    if (depth > 4) return null;
    if (schema.examples && schema.examples.length) return schema.examples[0];
    if (schema.anyOf) return example(spec, schema.anyOf[0], depth + 1);
    if (schema.type === "object" || schema.properties) {
      var o = {};
      Object.keys(schema.properties || {}).forEach(function (k) { o[k] = example(spec, schema.properties[k], depth + 1); });
      return o;
    }
    if (schema.type === "array") return [example(spec, schema.items, depth + 1)];
    return { string: "string", integer: 0, number: 0, boolean: false }[schema.type] || null;
  }
  function fields(spec, schema) {
    schema = resolve(spec, schema);
    var table = el("table");
    var head = el("tr");
    ["field", "type", "required", "description"].forEach(function (h) { head.appendChild(el("th", null, h)); });
    table.appendChild(head);
    Object.keys(schema.properties || {}).forEach(function (k) {
      var p = schema.properties[k];
      var type = p.type || (p.anyOf || []).map(function (a) { return a.type || (a.$ref || "").split("/").pop(); }).join(" | ") ||
                 (p.$ref || "").split("/").pop();
      var row = el("tr");
      row.appendChild(el("td", null, k));
      row.appendChild(el("td", null, type));
      row.appendChild(el("td", null, (schema.required || []).indexOf(k) >= 0 ? "yes" : ""));
      row.appendChild(el("td", null, p.description || ""));
      table.appendChild(row);
    });
    return table;
  }
  fetch("/openapi.json").then(function (r) { return r.json(); }).then(function (spec) {
    out.textContent = "";
    Object.keys(spec.paths).forEach(function (path) {
      Object.keys(spec.paths[path]).forEach(function (method) {
        var op = spec.paths[path][method];
        var box = el("details", "op");
        var sum = el("summary");
        sum.appendChild(el("span", "method " + method, method.toUpperCase()));
        sum.appendChild(el("span", "path", path));
        sum.appendChild(el("span", "summary", op.summary || ""));
        box.appendChild(sum);
        var body = el("div", "body");
        if (op.description) body.appendChild(el("p", null, op.description));
        var req = op.requestBody && op.requestBody.content && op.requestBody.content["application/json"];
        if (req) {
          body.appendChild(el("h3", null, "Request body (JSON)"));
          body.appendChild(fields(spec, req.schema));
          body.appendChild(el("pre", null, JSON.stringify(example(spec, req.schema, 0), null, 2)));
        }
        body.appendChild(el("h3", null, "Responses"));
        Object.keys(op.responses || {}).forEach(function (code) {
          var r = op.responses[code];
          body.appendChild(el("p", null, code + " — " + (r.description || "")));
          var json = r.content && r.content["application/json"];
          if (json && json.schema && code === "200") {
            body.appendChild(el("pre", null, JSON.stringify(example(spec, json.schema, 0), null, 2)));
          }
        });
        box.appendChild(body);
        out.appendChild(box);
      });
    });
  }).catch(function () { out.textContent = "Could not load /openapi.json."; });
})();
