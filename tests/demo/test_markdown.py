"""Markdown as models write it, rendered safely: structure kept, every text escaped, only
resolved files and ordinary web links become links."""

from __future__ import annotations

from sandbox_analyst.demo import render_markdown

PNG_URI = "data:image/png;base64,iVBORw0KGgo="


def resolve(url: str) -> str | None:
    return PNG_URI if url == "/api/files/f_chart/content" else None


def test_headings_lists_tables_and_code_keep_their_structure() -> None:
    text = (
        "## Summary\n\n"
        "Revenue grew **28.2%** and *units* too.\n\n"
        "- first\n- second with `code`\n\n"
        "1. one\n2. two\n\n"
        "| store | revenue |\n|---|---:|\n| Old Town | 617,127 |\n\n"
        "```python\nprint(1 < 2)\n```"
    )
    html = render_markdown(text, resolve)
    assert "<h2>Summary</h2>" in html
    assert "<strong>28.2%</strong>" in html
    assert "<em>units</em>" in html
    assert "<ul><li>first</li><li>second with <code>code</code></li></ul>" in html
    assert "<ol><li>one</li><li>two</li></ol>" in html
    assert "<th>store</th>" in html
    assert "<td>617,127</td>" in html
    assert '<pre class="code"><code>print(1 &lt; 2)</code></pre>' in html


def test_a_stored_chart_is_embedded_and_an_unknown_one_is_named() -> None:
    html = render_markdown(
        "![revenue](/api/files/f_chart/content) ![other](/api/files/f_gone/content)", resolve
    )
    assert f'<img src="{PNG_URI}" alt="revenue">' in html
    assert "[image not included: other]" in html
    assert "/api/files/f_gone" not in html


def test_markup_in_text_code_and_tables_comes_out_escaped() -> None:
    hostile = "<script>alert(1)</script>"
    text = f"{hostile}\n\n`{hostile}`\n\n- {hostile}\n\n| a |\n|---|\n| {hostile} |"
    html = render_markdown(text, resolve)
    assert "<script>" not in html
    assert html.count("&lt;script&gt;") == 4


def test_only_web_links_and_resolved_files_become_links() -> None:
    html = render_markdown(
        "[site](https://example.org/a?b=1&c=2) [bad](javascript:alert(1)) "
        '[csv](/api/files/f_chart/content) [quote](https://x.org/"onmouseover=alert(1))',
        resolve,
    )
    assert '<a href="https://example.org/a?b=1&amp;c=2" rel="noreferrer">site</a>' in html
    assert 'href="javascript' not in html
    assert f'<a href="{PNG_URI}" download="csv">csv</a>' in html
    assert '"onmouseover' not in html


def test_emphasis_never_reaches_into_a_link() -> None:
    html = render_markdown("**see** [a_b_c](https://example.org/x*y*z)", resolve)
    assert '<a href="https://example.org/x*y*z" rel="noreferrer">a_b_c</a>' in html
    assert "<strong>see</strong>" in html
