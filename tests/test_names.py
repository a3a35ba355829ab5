import pytest

from neodyme_cli.errors import InvalidProjectNameError
from neodyme_cli.names import validate_project_name


@pytest.mark.parametrize(
    ("name", "package"),
    [("demo", "demo"), ("my-app", "my_app"), ("My.Service", "my_service"), ("app2", "app2")],
)
def test_valid_names_give_their_slug(name: str, package: str) -> None:
    assert validate_project_name(name) == package


@pytest.mark.parametrize(
    ("name", "reason", "suggestion"),
    [
        ("1app", "not a valid Python identifier", "my-1app"),
        ("class", "keyword", "my-class"),
        ("my app", "not a valid project name", "my-app"),
        ("typing", "standard library", "my-typing"),
        ("test", "standard library", "my-test"),
        ("fastapi", "shadow a package", "my-fastapi"),
        ("sqlmodel", "shadow a package", "my-sqlmodel"),
        ("../x", "is a path", "neodyme new x --path ../x"),
        ("", "empty", "my-app"),
        ("-app", "not a valid project name", "neodyme new app"),
        ("a" * 41, "up to 40", "shorter name"),
        ("café", "not a valid project name", "neodyme new cafe"),
        ("Straße-API", "not a valid project name", "neodyme new strasse-api"),
        ("Ærø", "not a valid project name", "neodyme new aero"),
    ],
)
def test_bad_names_say_why_and_suggest_a_fix(name: str, reason: str, suggestion: str) -> None:
    with pytest.raises(InvalidProjectNameError) as caught:
        validate_project_name(name)
    assert reason in caught.value.message
    assert caught.value.hint is not None and suggestion in caught.value.hint
    assert caught.value.exit_code == 2
