// Scenarios of LibreChat's code tools (@librechat/agents: execute_code and bash, the tools
// LibreChat's agents run) against our server. `node scenarios.mjs NAME` runs one; it reads
// LIBRECHAT_CODE_BASEURL and LIBRECHAT_CODE_API_KEY (or LIBRECHAT_CODE_JWT) from the
// environment, as LibreChat does, and prints what it observed as one JSON object;
// tests/api/librechat/test_agents_tool.py asserts on it.
//
// Uploads and downloads are LibreChat's own (api/server/services/Files/Code), not the
// package's: they are done here the way LibreChat does them (multipart `file` + `entity_id`
// with X-API-Key and User-Id; GET /download/<session_id>/<file_id>). Between calls, the files
// a call returned are handed to the next one as `_injected_files`, the way the package's
// ToolNode carries a code session over.
import { createBashExecutionTool, createCodeExecutionTool } from '@librechat/agents'

const BASE = process.env.LIBRECHAT_CODE_BASEURL
const PNG_MAGIC = '89504e470d0a1a0a'

function plainHeaders() {
  if (process.env.LIBRECHAT_CODE_JWT) {
    return { Authorization: `Bearer ${process.env.LIBRECHAT_CODE_JWT}` }
  }
  return { 'X-API-Key': process.env.LIBRECHAT_CODE_API_KEY }
}

// Current LibreChat hands the tools a function minting a JWT per call; older ones the key.
function authHeaders() {
  return process.env.LIBRECHAT_CODE_JWT ? async () => plainHeaders() : plainHeaders()
}

async function upload(name, text) {
  const form = new FormData()
  form.append('entity_id', 'agent_test')
  form.append('file', new Blob([text]), name)
  const response = await fetch(`${BASE}/upload`, {
    method: 'POST',
    headers: { ...plainHeaders(), 'User-Id': 'lc-user' },
    body: form,
  })
  const body = await response.json()
  if (body.message !== 'success') throw new Error(`upload failed: ${JSON.stringify(body)}`)
  return { session_id: body.session_id, file: body.files[0] }
}

async function download(sessionId, fileId) {
  const response = await fetch(`${BASE}/download/${sessionId}/${fileId}`, {
    headers: plainHeaders(),
  })
  const bytes = Buffer.from(await response.arrayBuffer())
  return {
    status: response.status,
    type: response.headers.get('content-type'),
    magic: bytes.subarray(0, 8).toString('hex'),
  }
}

// What ToolNode keeps of a code session between calls: the last exec session id and the
// files known so far (by name, newest wins), injected into the next call.
class CodeSession {
  constructor() {
    this.sessionId = undefined
    this.files = new Map()
  }
  add(file) {
    this.files.set(file.name, file)
  }
  injected() {
    return [...this.files.values()].map((file) => ({
      id: file.id,
      resource_id: file.resource_id ?? file.id,
      name: file.name,
      storage_session_id: file.storage_session_id ?? this.sessionId,
      kind: file.kind ?? 'user',
    }))
  }
  async call(tool, args, n) {
    const message = await tool.invoke({
      id: `call_${n}`,
      name: tool.name,
      type: 'tool_call',
      args,
      session_id: this.sessionId,
      _injected_files: this.injected(),
    })
    const artifact = message.artifact ?? {}
    this.sessionId = artifact.session_id
    for (const file of artifact.files ?? []) this.add(file)
    return { content: String(message.content), artifact }
  }
}

const scenarios = {
  async analysis() {
    const code = createCodeExecutionTool({ baseUrl: BASE, authHeaders: authHeaders() })
    const bash = createBashExecutionTool({ baseUrl: BASE, authHeaders: authHeaders() })
    const session = new CodeSession()
    const uploaded = await upload('sales.csv', 'region,amount\nN,3\nS,5\nE,4\n')
    session.add({
      id: uploaded.file.fileId,
      name: uploaded.file.filename,
      storage_session_id: uploaded.session_id,
    })
    const first = await session.call(
      code,
      {
        lang: 'py',
        code: [
          'import pandas as pd, matplotlib',
          "matplotlib.use('Agg')",
          'import matplotlib.pyplot as plt',
          "df = pd.read_csv('/mnt/data/sales.csv')",
          "print('total', df.amount.sum())",
          "df.plot.bar(x='region', y='amount')",
          "plt.savefig('/mnt/data/chart.png')",
          "df.describe().to_csv('/mnt/data/summary.csv')",
        ].join('\n'),
      },
      1,
    )
    const chart = first.artifact.files.find((file) => file.name === 'chart.png')
    const downloaded = await download(first.artifact.session_id, chart.id)
    const listing = await session.call(bash, { command: 'ls /mnt/data' }, 2)
    const second = await session.call(
      code,
      {
        lang: 'py',
        code: "import pandas as pd\nprint(pd.read_csv('/mnt/data/summary.csv', index_col=0).loc['count', 'amount'])",
      },
      3,
    )
    const failed = await session.call(code, { lang: 'py', code: 'print(undefined_name)' }, 4)
    return {
      firstContent: first.content,
      firstFiles: first.artifact.files.map((file) => file.name).sort(),
      sessionIdLength: first.artifact.session_id.length,
      chart: { ...downloaded, magic: downloaded.magic === PNG_MAGIC },
      bashContent: listing.content,
      secondContent: second.content,
      failedContent: failed.content,
    }
  },

  async stateful() {
    const options = {
      baseUrl: BASE,
      authHeaders: authHeaders(),
      statefulSessions: true,
      executionProfile: 'stateful',
      runtimeSessionHint: 'conversation-42',
    }
    const code = createCodeExecutionTool(options)
    const session = new CodeSession()
    const first = await session.call(
      code,
      { lang: 'py', code: "import pandas as pd\ndf = pd.DataFrame({'a': [1, 2, 3]})" },
      1,
    )
    const second = await session.call(code, { lang: 'py', code: 'print(len(df), df.a.sum())' }, 2)
    const stateless = createCodeExecutionTool({ baseUrl: BASE, authHeaders: authHeaders() })
    const third = await new CodeSession().call(stateless, { lang: 'py', code: 'print(df)' }, 3)
    return {
      firstStatus: first.artifact.runtime_status,
      secondStatus: second.artifact.runtime_status,
      sameRuntime: first.artifact.runtime_session_id === second.artifact.runtime_session_id,
      secondContent: second.content,
      statelessContent: third.content,
    }
  },

  async unauthorized() {
    const code = createCodeExecutionTool({
      baseUrl: BASE,
      authHeaders: { 'X-API-Key': 'sa_wrong' },
    })
    try {
      await code.invoke({ id: 'c', name: code.name, type: 'tool_call', args: { lang: 'py', code: '1' } })
      return { error: null }
    } catch (error) {
      return { error: String(error.message) }
    }
  },
}

const name = process.argv[2]
const scenario = scenarios[name]
if (!scenario) {
  console.error(`unknown scenario ${name}; one of ${Object.keys(scenarios).join(', ')}`)
  process.exit(2)
}
const result = await scenario()
console.log(JSON.stringify(result))
