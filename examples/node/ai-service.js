// Pattern 3, a service that uses a model: `Assistant.Ask` answers a question with the model
// that MICRO_AI_PROVIDER, MICRO_AI_MODEL, MICRO_AI_API_KEY and MICRO_AI_BASE_URL name.
//
//   MICRO_AI_PROVIDER=anthropic MICRO_AI_API_KEY=... node ai-service.js
//   micro call assistant Assistant.Ask '{"question":"What is a service mesh?"}'
const { Model, Service } = require('go-micro')

/**
 * The assistant service, asking `model`.
 * @param {import('go-micro').Model} model
 * @param {import('go-micro').ServiceOptions} [options]
 */
function assistant(model, options) {
  return new Service('assistant', options).handle(
    'Assistant.Ask',
    /** @param {{ question: string }} req */
    async (req) => {
      const { text } = await model.generate(req.question, { system: 'Answer in a sentence or two.' })
      return { answer: text }
    },
    { description: 'Answers a question in a sentence or two', example: { question: 'What is a service mesh?' } },
  )
}

module.exports = { assistant }

if (require.main === module) assistant(new Model()).run()
