"""API Trust & Performance Analytics: generator, loader, dashboards and report."""
