"""The portal's search module: one engine for the site-wide search page and every keyword box.

- ``portal.search.query.parse(text)``: what a visitor typed, as terms.
- ``portal.search.engine.search(query, language=…, kinds=…)``: counts and ranked hits per kind.
- ``portal.search.engine.connect(Kind(...))``: an app registers a model; the index then follows
  its saves and deletes.
"""
