/**
 * Bash and zsh completion scripts, made from the command table (main.ts COMMANDS): command names,
 * `help COMMAND`, subcommands (`allow list|add|remove`), each command's options and the global
 * ones; `-c` completes file names and `--netns` the named namespaces. Pure: the package build
 * writes them (scripts/package/generated.ts).
 */
import type { Command } from './command.ts';
import { GLOBAL_OPTIONS, type Options } from './help.ts';

const GLOBAL_SUMMARY: Record<string, string> = {
  config: 'config file',
  netns: 'run nft inside this network namespace',
  json: 'machine-readable output',
  help: 'help',
  version: 'the version',
};

function flags(options: Options): string[] {
  return Object.entries(options).flatMap(([n, o]) => (o.short ? [`-${o.short}`, `--${n}`] : [`--${n}`]));
}

/** Options that take a value: their value is not a command word. */
function valued(options: Options): string[] {
  return Object.entries(options)
    .filter(([, o]) => o.type === 'string')
    .flatMap(([n, o]) => (o.short ? [`-${o.short}`, `--${n}`] : [`--${n}`]));
}

const words = (list: readonly string[]) => list.join(' ');

export function bashCompletion(commands: readonly Command[]): string {
  const allValued = [...new Set([...valued(GLOBAL_OPTIONS), ...commands.flatMap((c) => valued(c.options ?? {}))])];
  const perCommand = commands.map((c) => {
    const opts = words([...flags(c.options ?? {}), ...flags(GLOBAL_OPTIONS)]);
    const subs = words((c.subcommands ?? []).map((s) => s.name));
    const subLine = subs ? `\n        [[ -z $sub ]] && COMPREPLY+=($(compgen -W "${subs}" -- "$cur"))` : '';
    // A command whose usage takes a FILE argument (replay ALERT_FILE) completes file names.
    const fileLine = new RegExp(`\\b${c.name}\\b.*\\b[A-Z_]*FILE\\b`).test(c.usage.replace(/\[-c FILE\]/, ''))
      ? `\n        [[ $cur != -* ]] && COMPREPLY+=($(compgen -f -- "$cur"))`
      : '';
    return `      ${c.name})
        [[ $cur == -* ]] && COMPREPLY=($(compgen -W "${opts}" -- "$cur"))${subLine}${fileLine}
        ;;`;
  });
  return `# bash completion for nftsentry, generated from its command table (src/cli/completion.ts).
_nftsentry() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]}
  COMPREPLY=()
  case $prev in
    -c|--config)
      COMPREPLY=($(compgen -f -- "$cur"))
      return 0
      ;;
    --netns)
      COMPREPLY=($(compgen -W "$(ip netns list 2>/dev/null | cut -d' ' -f1)" -- "$cur"))
      return 0
      ;;
    ${allValued.join('|')})
      return 0
      ;;
  esac
  local i cmd='' sub=''
  for ((i = 1; i < COMP_CWORD; i++)); do
    case \${COMP_WORDS[i]} in
      ${allValued.join('|')}) ((i++)) ;;
      -*) ;;
      *)
        if [[ -z $cmd ]]; then cmd=\${COMP_WORDS[i]}; elif [[ -z $sub ]]; then sub=\${COMP_WORDS[i]}; fi
        ;;
    esac
  done
  case $cmd in
      '')
        if [[ $cur == -* ]]; then
          COMPREPLY=($(compgen -W "${words(flags(GLOBAL_OPTIONS))}" -- "$cur"))
        else
          COMPREPLY=($(compgen -W "${words([...commands.map((c) => c.name), 'help'])}" -- "$cur"))
        fi
        ;;
      help)
        [[ -z $sub ]] && COMPREPLY=($(compgen -W "${words(commands.map((c) => c.name))}" -- "$cur"))
        ;;
${perCommand.join('\n')}
  esac
  return 0
}
complete -F _nftsentry nftsentry
`;
}

/** Text inside zsh's single quotes and _describe/_arguments specs. */
function zq(text: string): string {
  return text.replace(/'/g, `'\\''`).replace(/:/g, '\\:').replace(/\[/g, '(').replace(/\]/g, ')');
}

function zshSpecs(options: Options, usage: string): string[] {
  return Object.entries(options).map(([n, o]) => {
    const what = zq(GLOBAL_SUMMARY[n] ?? new RegExp(`--${n}[ =](\\S+?)\\]?(?:\\s|$)`).exec(usage)?.[1] ?? n);
    const value = n === 'config' ? '_files' : n === 'netns' ? '_nftsentry_netns' : ' ';
    const arg = o.type === 'string' ? `:${n}:${value}` : '';
    return o.short ? `'(-${o.short} --${n})'{-${o.short},--${n}}'[${what}]${arg}'` : `'--${n}[${what}]${arg}'`;
  });
}

export function zshCompletion(commands: readonly Command[]): string {
  const cases = commands.map((c) => {
    const specs = [...zshSpecs(c.options ?? {}, c.usage), ...zshSpecs(GLOBAL_OPTIONS, '')];
    const subs = (c.subcommands ?? []).map((s) => `'${zq(s.name)}:${zq(s.summary)}'`);
    const rest = subs.length ? `'1: :->sub' '*::arg:_default'` : `'*::arg:_default'`;
    const subState = subs.length
      ? `\n        [[ $state == sub ]] && { local -a subs=(${subs.join(' ')}); _describe subcommand subs; }`
      : '';
    return `      (${c.name})
        _arguments -s ${[...specs, rest].join(' ')}${subState}
        ;;`;
  });
  const commandList = commands.map((c) => `'${zq(c.name)}:${zq(c.summary)}'`);
  return `#compdef nftsentry
# zsh completion for nftsentry, generated from its command table (src/cli/completion.ts).

_nftsentry_netns() {
  local -a names
  names=(\${(f)"$(ip netns list 2>/dev/null | cut -d' ' -f1)"})
  compadd -a names
}

_nftsentry() {
  local curcontext=$curcontext state line ret=1
  local -a commands
  commands=(${commandList.join(' ')} 'help:help for a command')
  _arguments -C -s ${zshSpecs(GLOBAL_OPTIONS, '').join(' ')} '1: :->command' '*:: :->args' && ret=0
  case $state in
    (command)
      _describe command commands && ret=0
      ;;
    (args)
      curcontext=\${curcontext%:*:*}:nftsentry-$words[1]:
      case $words[1] in
      (help)
        _describe command commands && ret=0
        ;;
${cases.join('\n')}
      esac
      ;;
  esac
  return ret
}

_nftsentry "$@"
`;
}
