"""Make docs/screenshot.svg: the studio's main screen, exported by Textual, on a fresh demo session.

    python docs/screenshot.py
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


async def main() -> None:
    from studio.tui.app import StudioApp
    from studio.core.workspace import Workspace

    app = StudioApp(Workspace.from_env(tempfile.mkdtemp(prefix="studio-shot-")).ensure())
    async with app.run_test(size=(140, 40)) as pilot:
        while app.ready_at is None:
            await pilot.pause(0.05)
        await pilot.pause(0.5)
        app.screen.start_run({"model": "render", "count": 20, "strategy": "sample", "seed": 0})
        while app.screen._run_control is not None:
            await pilot.pause(0.05)
        await pilot.press("home", "space", "space", "x", "3", "8", "j", "space", "x", "1", "space", "k")
        app.screen.io.flush()
        await pilot.pause(1.0)
        app.clear_notifications()
        await pilot.pause(0.2)
        out = Path(__file__).with_name("screenshot.svg")
        out.write_text(app.export_screenshot(title="Template Studio"))
        print(f"wrote {out}")
        await pilot.press("ctrl+q")


if __name__ == "__main__":
    asyncio.run(main())
