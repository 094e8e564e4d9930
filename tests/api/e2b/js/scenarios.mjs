// Scenarios of the official E2B JavaScript SDK (@e2b/code-interpreter) against our server.
// `node scenarios.mjs NAME` runs one; it reads E2B_API_KEY, E2B_API_URL and E2B_SANDBOX_URL
// (and OTHER_E2B_API_KEY, another user's key) from the environment, as a user's code would,
// and prints what it observed as one JSON object. tests/api/e2b/test_js_sdk.py asserts on it.
import { Sandbox } from '@e2b/code-interpreter'

const PNG_MAGIC = '89504e470d0a1a0a'

async function withSandbox(options, body) {
  const sandbox = await Sandbox.create(options)
  try {
    return await body(sandbox)
  } finally {
    await sandbox.kill()
  }
}

async function listIds(opts) {
  const paginator = Sandbox.list(opts)
  const ids = []
  while (paginator.hasNext) {
    for (const info of await paginator.nextItems()) ids.push(info.sandboxId)
  }
  return ids
}

async function failure(promise) {
  try {
    await promise
    return null
  } catch (error) {
    return { name: error.name, message: String(error.message) }
  }
}

const scenarios = {
  async lifecycle() {
    const sandbox = await Sandbox.create({ metadata: { purpose: 'js' } })
    const two = await sandbox.runCode('1 + 1')
    const info = await sandbox.getInfo()
    const listed = await listIds()
    const running = await sandbox.isRunning()
    const connected = await Sandbox.connect(sandbox.sandboxId)
    await sandbox.runCode('kept = "yes"')
    const kept = (await connected.runCode('kept')).text
    const killed = await sandbox.kill()
    return {
      text: two.text,
      templateId: info.templateId,
      metadata: info.metadata,
      listed: listed.includes(sandbox.sandboxId),
      running,
      kept,
      killed,
      runningAfterKill: await sandbox.isRunning(),
      listedAfterKill: (await listIds()).includes(sandbox.sandboxId),
    }
  },

  async analysis() {
    return withSandbox({}, async (sandbox) => {
      const lines = []
      const chart = await sandbox.runCode(
        [
          'import pandas as pd',
          'import matplotlib.pyplot as plt',
          "df = pd.DataFrame({'k': ['a', 'b', 'a'], 'v': [1, 2, 3]})",
          "print('rows', len(df))",
          "df.groupby('k')['v'].sum().plot.bar()",
          'plt.show()',
          "df.groupby('k')['v'].sum().to_frame()",
        ].join('\n'),
        { onStdout: (message) => lines.push(message.line) },
      )
      const pngs = chart.results.filter((result) => result.png)
      await sandbox.runCode('counter = 41')
      const state = await sandbox.runCode('counter + 1')
      const error = await sandbox.runCode('def f():\n    raise KeyError("missing")\nf()')
      return {
        stdout: lines.join(''),
        pngCount: pngs.length,
        pngMagic: Buffer.from(pngs[0].png, 'base64').subarray(0, 8).toString('hex') === PNG_MAGIC,
        mainHtml: chart.results.some((result) => result.isMainResult && result.html.includes('<table')),
        state: state.text,
        errorName: error.error?.name,
        errorValue: error.error?.value,
        tracebackMentionsF: (error.error?.traceback ?? '').includes('f()'),
      }
    })
  },

  async files() {
    return withSandbox({}, async (sandbox) => {
      await sandbox.files.write('/home/user/js/in.txt', 'from js')
      const read = await sandbox.files.read('/home/user/js/in.txt')
      const bytes = await sandbox.files.read('/home/user/js/in.txt', { format: 'bytes' })
      const madeDir = await sandbox.files.makeDir('/home/user/js/sub')
      const names = (await sandbox.files.list('/home/user/js')).map((entry) => `${entry.name}:${entry.type}`)
      await sandbox.files.rename('/home/user/js/in.txt', '/home/user/js/moved.txt')
      const movedExists = await sandbox.files.exists('/home/user/js/moved.txt')
      await sandbox.files.remove('/home/user/js/moved.txt')
      const removedExists = await sandbox.files.exists('/home/user/js/moved.txt')
      const code = await sandbox.runCode("open('js/sub/made.txt', 'w').write('by python')")
      const madeByCode = await sandbox.files.read('/home/user/js/sub/made.txt')
      const outside = await failure(sandbox.files.read('/etc/passwd'))
      return {
        read,
        bytesLength: bytes.length,
        madeDir,
        names: names.sort(),
        movedExists,
        removedExists,
        codeError: code.error ?? null,
        madeByCode,
        outsideRefused: outside !== null,
      }
    })
  },

  async commands() {
    return withSandbox({}, async (sandbox) => {
      await sandbox.files.write('/home/user/cmd/note.txt', 'note')
      const ok = await sandbox.commands.run('cat note.txt; echo " $WHO"', {
        cwd: '/home/user/cmd',
        envs: { WHO: 'js' },
      })
      let exitCode = null
      try {
        await sandbox.commands.run('exit 5')
      } catch (error) {
        exitCode = error.exitCode
      }
      const handle = await sandbox.commands.run('sleep 600', { background: true })
      const killed = await handle.kill()
      return { stdout: ok.stdout, exitCode, killed }
    })
  },

  async languages() {
    return withSandbox({ envs: { LEVEL: 'sandbox' } }, async (sandbox) => {
      const bash = await sandbox.runCode('echo "$LEVEL/$ONCE"; pwd', {
        language: 'bash',
        envs: { ONCE: 'now' },
      })
      const python = await sandbox.runCode("import os\nos.environ.get('ONCE')", {})
      return { bash: bash.logs.stdout.join(''), pythonOnce: python.text ?? null }
    })
  },

  async contexts() {
    return withSandbox({}, async (sandbox) => {
      await sandbox.runCode('where = "default"')
      const context = await sandbox.createCodeContext({ cwd: '/home/user' })
      const fresh = await sandbox.runCode("'where' in dir()", { context })
      await sandbox.runCode('where = "context"', { context })
      const defaultKept = (await sandbox.runCode('where')).text
      const listed = (await sandbox.listCodeContexts()).some((item) => item.id === context.id)
      await sandbox.restartCodeContext(context)
      const afterRestart = (await sandbox.runCode("'where' in dir()", { context })).text
      await sandbox.removeCodeContext(context)
      const listedAfterRemove = (await sandbox.listCodeContexts()).some((item) => item.id === context.id)
      return { fresh: fresh.text, defaultKept, listed, afterRestart, listedAfterRemove }
    })
  },

  async isolation() {
    const other = { apiKey: process.env.OTHER_E2B_API_KEY }
    return withSandbox({}, async (sandbox) => {
      const connect = await failure(Sandbox.connect(sandbox.sandboxId, other))
      const kill = await Sandbox.kill(sandbox.sandboxId, other)
      const othersList = await listIds(other)
      return {
        connectRefused: connect !== null,
        connectError: connect,
        otherKilled: kill,
        visibleToOther: othersList.includes(sandbox.sandboxId),
        stillRuns: (await sandbox.runCode('"alive"')).text,
      }
    })
  },

  async expired() {
    const sandbox = await Sandbox.create({ timeoutMs: 1000 })
    for (let i = 0; i < 200 && (await sandbox.isRunning()); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const run = await failure(sandbox.runCode('1'))
    const connect = await failure(Sandbox.connect(sandbox.sandboxId))
    return { running: await sandbox.isRunning(), run, connect }
  },
}

const name = process.argv[2]
if (!(name in scenarios)) {
  console.error(`unknown scenario ${name}; one of: ${Object.keys(scenarios).join(', ')}`)
  process.exit(2)
}
const outcome = await scenarios[name]()
process.stdout.write(JSON.stringify(outcome) + '\n')
