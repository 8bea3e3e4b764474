"""The dashboard, split by job: marts (read), payload (aggregate), page (write), export (PNGs).

Every chart is defined once, in the page's JavaScript (web/charts.js); the PNGs
are those same charts, exported from the page in headless Chromium.
"""
