"""Reports: the self-contained HTML red-flag report and exports of results."""
