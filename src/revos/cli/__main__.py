from revos.cli.main import app

app(prog_name="revos")
