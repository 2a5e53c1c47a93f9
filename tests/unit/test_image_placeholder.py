"""The demo article's pictures exist only as alt text: captioned frames, or decorative ones."""
import pytest

from blog.demo import image_placeholder


def test_descriptive_alt_becomes_the_caption_escaped():
    html = image_placeholder("Boxes <stacked> & a leg")
    assert '<figcaption class="wp-element-caption">Boxes &lt;stacked&gt; &amp; a leg</figcaption>' in html
    assert 'aria-hidden="true"></span>' in html and "<figure class=\"wp-block-image image-placeholder\">" in html


@pytest.mark.parametrize("alt", ["iStock_000025095355XSmall", "IMG_2041.jpg", "DSC-0042"])
def test_file_name_alt_is_decorative(alt):
    html = image_placeholder(alt)
    assert "figcaption" not in html and alt not in html
    assert html.startswith('<figure class="wp-block-image image-placeholder" aria-hidden="true">')
