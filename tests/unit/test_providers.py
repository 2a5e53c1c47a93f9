"""Providers from the environment: presets, overrides, refusals; userinfo mapped to one shape."""
from __future__ import annotations

import pytest

from blog.accounts.providers import (ProviderConfigError, facebook_profile, github_profile, load_providers,
                                     oidc_profile, wordpress_profile)


def test_presets_need_only_id_and_secret():
    env = {"OAUTH_PROVIDERS": "wordpress, GitHub,google,facebook"}
    for name in ("WORDPRESS", "GITHUB", "GOOGLE", "FACEBOOK"):
        env |= {f"OAUTH_{name}_CLIENT_ID": "id", f"OAUTH_{name}_CLIENT_SECRET": "secret"}
    providers = load_providers(env)
    assert list(providers) == ["wordpress", "github", "google", "facebook"]
    assert providers["wordpress"].title == "WordPress.com" and not providers["wordpress"].is_oidc
    assert providers["google"].is_oidc and providers["google"].scope == "openid email profile"
    assert providers["github"].origins == {"https://github.com"}


def test_any_oidc_provider_by_discovery_with_overrides():
    providers = load_providers({
        "OAUTH_PROVIDERS": "company", "OAUTH_COMPANY_CLIENT_ID": "blog", "OAUTH_COMPANY_CLIENT_SECRET": "s",
        "OAUTH_COMPANY_SERVER_METADATA_URL": "https://id.example.com/.well-known/openid-configuration",
        "OAUTH_COMPANY_TITLE": "Example Inc."})
    company = providers["company"]
    assert company.is_oidc and company.title == "Example Inc." and company.scope == "openid email profile"
    assert company.origins == {"https://id.example.com"}


def test_plain_oauth2_provider():
    provider = load_providers({
        "OAUTH_PROVIDERS": "forge", "OAUTH_FORGE_CLIENT_ID": "i", "OAUTH_FORGE_CLIENT_SECRET": "s",
        "OAUTH_FORGE_AUTHORIZE_URL": "https://forge.example/oauth/authorize",
        "OAUTH_FORGE_ACCESS_TOKEN_URL": "https://forge.example/oauth/token",
        "OAUTH_FORGE_USERINFO_URL": "https://api.forge.example/user", "OAUTH_FORGE_SCOPE": "read_user"})["forge"]
    assert not provider.is_oidc and provider.scope == "read_user" and provider.title == "Forge"


@pytest.mark.parametrize(("env", "message"), [
    ({"OAUTH_PROVIDERS": "github"}, "OAUTH_GITHUB_CLIENT_ID"),
    ({"OAUTH_PROVIDERS": "github", "OAUTH_GITHUB_CLIENT_ID": "i"}, "OAUTH_GITHUB_CLIENT_SECRET"),
    ({"OAUTH_PROVIDERS": "mine", "OAUTH_MINE_CLIENT_ID": "i", "OAUTH_MINE_CLIENT_SECRET": "s"},
     "OAUTH_MINE_SERVER_METADATA_URL"),
    ({"OAUTH_PROVIDERS": "../x"}, "may use only"),
])
def test_incomplete_configuration_fails_fast(env, message):
    with pytest.raises(ProviderConfigError, match=message):
        load_providers(env)


def test_no_providers():
    assert load_providers({}) == {}


@pytest.mark.parametrize(("mapper", "info", "expected"), [
    (oidc_profile, {"sub": "abc", "email": "a@x.example", "email_verified": True, "name": "Ann",
                    "picture": "https://img.example/a.png"},
     ("abc", "a@x.example", True, "Ann", "https://img.example/a.png")),
    (oidc_profile, {"sub": "abc", "email_verified": "true", "picture": "javascript:alert(1)"},
     ("abc", None, False, None, None)),
    (github_profile, {"id": 42, "login": "octo", "name": None, "email": None,
                      "avatar_url": "https://avatars.githubusercontent.com/u/42"},
     ("42", None, False, "octo", "https://avatars.githubusercontent.com/u/42")),
    (facebook_profile, {"id": "7", "name": "Fay", "email": "f@x.example",
                        "picture": {"data": {"url": "https://fb.example/p.jpg"}}},
     ("7", "f@x.example", True, "Fay", "https://fb.example/p.jpg")),
    (wordpress_profile, {"ID": 9, "display_name": "Winifred", "email": "w@x.example", "email_verified": True,
                         "avatar_URL": "https://gravatar.example/w"},
     ("9", "w@x.example", True, "Winifred", "https://gravatar.example/w")),
])
def test_userinfo_is_mapped_to_one_shape(mapper, info, expected):
    p = mapper(info)
    assert (p.subject, p.email, p.email_verified, p.name, p.avatar) == expected


def test_userinfo_without_a_subject_is_refused():
    with pytest.raises(KeyError):
        oidc_profile({"email": "a@x.example"})


def test_names_lose_control_characters_and_are_bounded():
    p = oidc_profile({"sub": "x", "name": "Eve\r\nBcc: all@example.org" + "e" * 300})
    assert "\n" not in p.name and "\r" not in p.name and len(p.name) == 245
