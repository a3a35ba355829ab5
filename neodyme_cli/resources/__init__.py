"""`neodyme add resource`: a whole vertical slice (model, repository, service, routes, migration,
tests, README section) planned as the files to write; the caller writes them.

    spec = parse_resource("post", ["title:str:200", "author:ref:users"], owned=True)
    plan = plan_resource(project_dir, spec, answers=read_answers(project_dir))
    for path, content in plan.files.items():  # relative paths, whole new contents
        ...

Both raise `BadInputError` subclasses (exit code 2, with a hint) for what cannot be done:
neodyme_cli.resources.errors.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from neodyme_cli.resources.project import read_project
from neodyme_cli.resources.render import ResourcePlan, render_resource
from neodyme_cli.resources.spec import FieldSpec, ResourceSpec, parse_resource


def plan_resource(
    project_dir: Path, spec: ResourceSpec, *, answers: Mapping[str, Any]
) -> ResourcePlan:
    """What adding `spec` to the project at `project_dir` (made with `answers`, its
    .copier-answers.yml) changes. Reads the project; writes nothing."""
    return render_resource(read_project(project_dir, answers), spec)


__all__ = ["FieldSpec", "ResourcePlan", "ResourceSpec", "parse_resource", "plan_resource"]
