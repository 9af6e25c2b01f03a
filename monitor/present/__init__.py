"""The presentation layer: the only place where typed results become words, colours,
JSON or HTML. One formatter per concept lives in `fmt`; terminal lines in `terminal`,
JSON in `jsonout`, HTML through Jinja2 templates with autoescaping in `html`, alert
payloads in `alerts`."""
