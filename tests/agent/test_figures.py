"""Charts are named `figure-N.<ext>`, numbered across the conversation: a turn goes on from the
highest number among the names already stored."""

from __future__ import annotations

from sandbox_analyst.agent import FigureNamer, last_figure_number


def test_a_conversations_figure_numbering_goes_on_from_its_highest_figure() -> None:
    names = ["figure-2.png", "sales.csv", "figure-10.svg", "my-figure-40.png", "figure-x.png"]
    assert last_figure_number(names) == 10
    assert last_figure_number([]) == 0


def test_the_namer_goes_on_from_the_stored_names_with_each_images_extension() -> None:
    namer = FigureNamer.after(["figure-1.png", "figure-2.svg", "report.csv"])

    assert namer.next_name("image/png") == "figure-3.png"
    assert namer.next_name("image/svg+xml") == "figure-4.svg"
    assert namer.next_name("image/jpeg") == "figure-5.jpg"
    assert FigureNamer.after([]).next_name("image/png") == "figure-1.png"
