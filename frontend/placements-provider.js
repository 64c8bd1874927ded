// Properties panel entries for what Placements needs: lane roles, user task title/form/due,
// instructions, pre/post scripts, script task scripts, conditions, DMN links, notify parameters.
import { h } from '@bpmn-io/properties-panel/preact';
import {
  SelectEntry, TextAreaEntry, TextFieldEntry,
  isSelectEntryEdited, isTextAreaEntryEdited, isTextFieldEntryEdited
} from '@bpmn-io/properties-panel';
import { useService } from 'bpmn-js-properties-panel';
import { getBusinessObject, is } from 'bpmn-js/lib/util/ModelUtil';

// ------------------------------------------------------------------ extension element helpers
function extensionValues(bo) {
  const ext = bo.get('extensionElements');
  return ext ? ext.get('values') : [];
}

function findExtension(bo, type) {
  return extensionValues(bo).find((v) => is(v, type));
}

function ensureExtensionElements(element, bo, bpmnFactory, modeling) {
  let ext = bo.get('extensionElements');
  if (!ext) {
    ext = bpmnFactory.create('bpmn:ExtensionElements', { values: [] });
    ext.$parent = bo;
    modeling.updateModdleProperties(element, bo, { extensionElements: ext });
  }
  return ext;
}

function ensureExtension(element, bo, type, attrs, services) {
  const { bpmnFactory, modeling } = services;
  let found = findExtension(bo, type);
  if (!found) {
    const ext = ensureExtensionElements(element, bo, bpmnFactory, modeling);
    found = bpmnFactory.create(type, attrs || {});
    found.$parent = ext;
    modeling.updateModdleProperties(element, ext, { values: [...ext.get('values'), found] });
  }
  return found;
}

function removeExtension(element, bo, item, modeling) {
  const ext = bo.get('extensionElements');
  if (!ext) return;
  modeling.updateModdleProperties(element, ext, { values: ext.get('values').filter((v) => v !== item) });
}

export function getSpiffProperty(bo, name) {
  const props = findExtension(bo, 'spiffworkflow:Properties');
  const prop = props && props.get('properties').find((p) => p.name === name);
  return prop ? prop.value : undefined;
}

function setSpiffProperty(element, name, value, services) {
  const { bpmnFactory, modeling } = services;
  const bo = getBusinessObject(element);
  const existing = findExtension(bo, 'spiffworkflow:Properties');
  if (!value && !existing) return;
  const props = existing || ensureExtension(element, bo, 'spiffworkflow:Properties', { properties: [] }, services);
  const prop = props.get('properties').find((p) => p.name === name);
  if (!value) {
    if (prop) modeling.updateModdleProperties(element, props, { properties: props.get('properties').filter((p) => p !== prop) });
    return;
  }
  if (prop) {
    modeling.updateModdleProperties(element, prop, { value });
  } else {
    const created = bpmnFactory.create('spiffworkflow:Property', { name, value });
    created.$parent = props;
    modeling.updateModdleProperties(element, props, { properties: [...props.get('properties'), created] });
  }
}

function getBodyExtension(bo, type) {
  const found = findExtension(bo, type);
  return found ? (found.value || '') : '';
}

function setBodyExtension(element, type, value, services) {
  const bo = getBusinessObject(element);
  const found = findExtension(bo, type);
  if (!value) {
    if (found) removeExtension(element, bo, found, services.modeling);
    return;
  }
  if (found) services.modeling.updateModdleProperties(element, found, { value });
  else ensureExtension(element, bo, type, { value }, services);
}

function getNotifyParameter(bo, id) {
  const op = findExtension(bo, 'spiffworkflow:ServiceTaskOperator');
  const list = op && op.get('parameterList');
  const param = list && list.get('parameters').find((p) => p.id === id);
  return param ? param.value : '';
}

function setNotifyParameter(element, id, value, services) {
  const { bpmnFactory, modeling } = services;
  const bo = getBusinessObject(element);
  const op = ensureExtension(element, bo, 'spiffworkflow:ServiceTaskOperator', { id: 'notify' }, services);
  let list = op.get('parameterList');
  if (!list) {
    list = bpmnFactory.create('spiffworkflow:Parameters', { parameters: [] });
    list.$parent = op;
    modeling.updateModdleProperties(element, op, { parameterList: list });
  }
  const param = list.get('parameters').find((p) => p.id === id);
  if (param) {
    modeling.updateModdleProperties(element, param, { value });
  } else {
    const created = bpmnFactory.create('spiffworkflow:Parameter', { id, type: 'str', value });
    created.$parent = list;
    modeling.updateModdleProperties(element, list, { parameters: [...list.get('parameters'), created] });
  }
}

function useServices() {
  return {
    bpmnFactory: useService('bpmnFactory'),
    modeling: useService('modeling'),
    debounce: useService('debounceInput'),
    context: useService('placementsContext')
  };
}

// --------------------------------------------------------------------------------- entries
// One component per entry id, made once: a new function each render would remount the input.
const COMPONENTS = {};

function textEntry(id, label, getValue, setValue, { area = false, description } = {}) {
  return COMPONENTS[id] || (COMPONENTS[id] = function Entry(props) {
    const { element } = props;
    const services = useServices();
    const Comp = area ? TextAreaEntry : TextFieldEntry;
    return h(Comp, {
      id, element, label, description,
      debounce: services.debounce,
      getValue: () => getValue(element, services) || '',
      setValue: (value) => setValue(element, value, services),
      monospace: area
    });
  });
}

function selectEntry(id, label, getValue, setValue, getOptions) {
  return COMPONENTS[id] || (COMPONENTS[id] = function Entry(props) {
    const { element } = props;
    const services = useServices();
    return h(SelectEntry, {
      id, element, label,
      getValue: () => getValue(element, services) || '',
      setValue: (value) => setValue(element, value, services),
      getOptions: () => getOptions(element, services)
    });
  });
}

const spiffProp = (name) => [
  (element) => getSpiffProperty(getBusinessObject(element), name),
  (element, value, services) => setSpiffProperty(element, name, value, services)
];
const bodyExt = (type) => [
  (element) => getBodyExtension(getBusinessObject(element), type),
  (element, value, services) => setBodyExtension(element, type, value, services)
];

function entry(id, component, element, edited) {
  return { id, component, element, isEdited: edited };
}

function placementsEntries(element, context) {
  const entries = [];
  const bo = getBusinessObject(element);
  if (is(element, 'bpmn:Lane')) {
    entries.push(entry('placements-role', selectEntry('placements-role', 'Role (who does the tasks in this lane)',
      (el) => getBusinessObject(el).name,
      (el, value, s) => s.modeling.updateProperties(el, { name: value }),
      () => [{ value: '', label: '(choose a role)' }, ...context.roles.map((r) => ({ value: r, label: r }))]
    ), element, isSelectEntryEdited));
  }
  if (is(element, 'bpmn:UserTask') || is(element, 'bpmn:ManualTask')) {
    entries.push(entry('placements-title', textEntry('placements-title', 'Title (what to do, in the imperative)', ...spiffProp('title')), element, isTextFieldEntryEdited));
    entries.push(entry('placements-form', selectEntry('placements-form', 'Form',
      ...spiffProp('form'),
      (el) => {
        const current = getSpiffProperty(getBusinessObject(el), 'form');
        const forms = context.forms();
        const names = current && !forms.includes(current) ? [...forms, current] : forms;
        return [{ value: '', label: '(no form)' }, ...names.map((f) => ({ value: f, label: f }))];
      }), element, isSelectEntryEdited));
    entries.push(entry('placements-due-days', textEntry('placements-due-days', 'Due after (calendar days)', ...spiffProp('due_days')), element, isTextFieldEntryEdited));
    entries.push(entry('placements-due-school-days', textEntry('placements-due-school-days', 'Due after (school days)', ...spiffProp('due_school_days')), element, isTextFieldEntryEdited));
    entries.push(entry('placements-instructions', textEntry('placements-instructions', 'Instructions', ...bodyExt('spiffworkflow:InstructionsForEndUser'), { area: true }), element, isTextAreaEntryEdited));
  }
  if (is(element, 'bpmn:ScriptTask')) {
    entries.push(entry('placements-script', textEntry('placements-script', 'Script (Python, sandboxed)',
      (el) => getBusinessObject(el).script,
      (el, value, s) => s.modeling.updateProperties(el, { script: value }), { area: true }), element, isTextAreaEntryEdited));
  }
  if (is(element, 'bpmn:BusinessRuleTask')) {
    entries.push(entry('placements-decision', selectEntry('placements-decision', 'Decision table (DMN)',
      ...bodyExt('spiffworkflow:CalledDecisionId'),
      (el) => {
        const current = getBodyExtension(getBusinessObject(el), 'spiffworkflow:CalledDecisionId');
        const ids = context.decisions();
        const all = current && !ids.includes(current) ? [...ids, current] : ids;
        return [{ value: '', label: '(choose a decision)' }, ...all.map((d) => ({ value: d, label: d }))];
      }), element, isSelectEntryEdited));
  }
  if (is(element, 'bpmn:ServiceTask') || is(element, 'bpmn:SendTask')) {
    for (const [id, label] of [['role', 'Notify role (expression)'], ['subject', 'Subject (expression)'], ['body', 'Body (expression)']]) {
      entries.push(entry(`placements-notify-${id}`, textEntry(`placements-notify-${id}`, label,
        (el) => getNotifyParameter(getBusinessObject(el), id),
        (el, value, s) => setNotifyParameter(el, id, value, s), { area: id === 'body' }), element, isTextFieldEntryEdited));
    }
  }
  if (is(element, 'bpmn:SequenceFlow') && bo.sourceRef && (is(bo.sourceRef, 'bpmn:ExclusiveGateway') || is(bo.sourceRef, 'bpmn:InclusiveGateway'))) {
    entries.push(entry('placements-condition', textEntry('placements-condition', 'Condition (Python expression)',
      (el) => { const c = getBusinessObject(el).conditionExpression; return c ? c.body : ''; },
      (el, value, s) => {
        const cond = value ? s.bpmnFactory.create('bpmn:FormalExpression', { body: value }) : undefined;
        s.modeling.updateProperties(el, { conditionExpression: cond });
      }, { area: true }), element, isTextAreaEntryEdited));
  }
  if (is(element, 'bpmn:Task') && !is(element, 'bpmn:ScriptTask') || is(element, 'bpmn:SubProcess')) {
    entries.push(entry('placements-prescript', textEntry('placements-prescript', 'Pre-script (runs before)', ...bodyExt('spiffworkflow:PreScript'), { area: true }), element, isTextAreaEntryEdited));
    entries.push(entry('placements-postscript', textEntry('placements-postscript', 'Post-script (runs after)', ...bodyExt('spiffworkflow:PostScript'), { area: true }), element, isTextAreaEntryEdited));
  }
  return entries;
}

export default function PlacementsPropertiesProvider(propertiesPanel, placementsContext) {
  this.getGroups = function(element) {
    return function(groups) {
      const entries = placementsEntries(element, placementsContext);
      if (entries.length) {
        groups.splice(1, 0, { id: 'placements', label: 'Placements', entries });
      }
      return groups;
    };
  };
  propertiesPanel.registerProvider(400, this);
}
PlacementsPropertiesProvider.$inject = ['propertiesPanel', 'placementsContext'];
